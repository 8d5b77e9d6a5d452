-- Every event with its amount in US dollars (contracts FX table, through the fx_rates seed) and
-- the payment's entities: refund and dispute events may not repeat the customer or the card, so
-- they are taken from the payment's own events.
with events as (
    select * from {{ ref('stg_payment_events') }}
),

entities as (
    select
        payment_id,
        min(customer_id) as payment_customer_id,
        min(card_fingerprint) as payment_card_fingerprint
    from events
    group by payment_id
)

select
    events.event_id,
    events.payment_id,
    events.provider,
    events.event_type,
    events.status,
    events.amount_minor,
    events.currency,
    cast(events.amount_minor as double) / pow(10, fx.minor_unit_exponent) * cast(fx.usd_per_unit as double)
        as amount_usd,
    events.occurred_at,
    events.merchant_id,
    coalesce(events.customer_id, entities.payment_customer_id) as customer_id,
    coalesce(events.card_fingerprint, entities.payment_card_fingerprint) as card_fingerprint,
    events.card_bin,
    events.card_country,
    events.ip_country,
    events.decline_code,
    events.decline_category,
    events.refund_id,
    events.dispute_id,
    events.merchant_category
from events
inner join entities on events.payment_id = entities.payment_id
left join {{ ref('fx_rates') }} as fx on events.currency = fx.currency
