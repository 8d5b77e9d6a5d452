-- One row per succeeded refund event, with the payment it belongs to.
select
    events.event_id as refund_event_id,
    coalesce(events.refund_id, events.event_id) as refund_id,
    events.payment_id,
    events.provider,
    events.customer_id,
    events.merchant_id,
    events.amount_minor,
    events.currency,
    events.amount_usd,
    events.occurred_at as refunded_at,
    cast(events.occurred_at as date) as refunded_on
from {{ ref('int_payment_events_usd') }} as events
where events.event_type = 'refund.succeeded'
