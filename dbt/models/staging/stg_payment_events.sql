-- One row per event: a redelivered event (same event_id) is kept once, from its first load.
select
    event_id,
    payment_id,
    provider,
    provider_event_id,
    event_type,
    status,
    amount_minor,
    currency,
    occurred_at,
    merchant_id,
    customer_id,
    card_fingerprint,
    card_bin,
    card_country,
    decline_code,
    decline_category,
    refund_id,
    dispute_id,
    ip_country,
    device_id,
    merchant_category,
    recorded_at,
    loaded_at
from {{ source('bronze', 'bronze_payment_events') }}
qualify row_number() over (partition by event_id order by loaded_at, recorded_at) = 1
