-- One row per dispute: when it opened, how it ended, and the payment it belongs to.
with dispute_events as (
    select * from {{ ref('int_payment_events_usd') }}
    where event_type like 'dispute.%'
),

disputes as (
    select
        coalesce(dispute_id, payment_id) as dispute_id,
        any_value(payment_id) as payment_id,
        min(case when event_type = 'dispute.opened' then occurred_at end) as opened_at,
        max(case when event_type in ('dispute.won', 'dispute.lost') then occurred_at end) as closed_at,
        case
            when bool_or(event_type = 'dispute.lost') then 'lost'
            when bool_or(event_type = 'dispute.won') then 'won'
            else 'open'
        end as outcome,
        max(amount_minor) as disputed_amount_minor,
        max(amount_usd) as disputed_amount_usd
    from dispute_events
    group by coalesce(dispute_id, payment_id)
)

select
    disputes.dispute_id,
    disputes.payment_id,
    disputes.opened_at,
    disputes.closed_at,
    disputes.outcome,
    disputes.disputed_amount_minor,
    disputes.disputed_amount_usd,
    payments.provider,
    payments.customer_id,
    payments.card_fingerprint,
    payments.merchant_id,
    payments.amount_minor as payment_amount_minor,
    payments.currency as payment_currency,
    payments.amount_usd as payment_amount_usd,
    payments.attempted_at as payment_attempted_at
from disputes
inner join {{ ref('fct_payments') }} as payments on disputes.payment_id = payments.payment_id
