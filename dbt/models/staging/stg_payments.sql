-- The newest snapshot of each payment (latest `updated_at`, then latest load).
select
    payment_id,
    provider,
    merchant_id,
    customer_id,
    card_fingerprint,
    amount_minor,
    currency,
    status,
    decision,
    fraud_score,
    fraud_model_version,
    churn_score,
    first_seen_at,
    updated_at,
    loaded_at
from {{ source('bronze', 'bronze_payments') }}
qualify row_number() over (partition by payment_id order by updated_at desc, loaded_at desc) = 1
