-- One row per payment: the attempt as first seen (its earliest payment.* event), and how it ended.
with payment_events as (
    select * from {{ ref('int_payment_events_usd') }}
    where event_type like 'payment.%'
),

firsts as (
    select *
    from payment_events
    qualify row_number() over (partition by payment_id order by occurred_at, event_id) = 1
),

outcomes as (
    select
        payment_id,
        bool_or(event_type = 'payment.failed') as declined,
        bool_or(event_type in ('payment.succeeded', 'payment.captured')) as succeeded,
        min(case when event_type = 'payment.failed' then occurred_at end) as declined_at
    from payment_events
    group by payment_id
)

select
    firsts.payment_id,
    firsts.provider,
    firsts.merchant_id,
    firsts.merchant_category,
    firsts.customer_id,
    firsts.card_fingerprint,
    firsts.card_bin,
    firsts.card_country,
    firsts.ip_country,
    firsts.amount_minor,
    firsts.currency,
    firsts.amount_usd,
    firsts.occurred_at as attempted_at,
    outcomes.declined,
    outcomes.succeeded,
    outcomes.declined_at
from firsts
inner join outcomes on firsts.payment_id = outcomes.payment_id
