-- One row per decision event (redelivered copies dropped).
select
    event_id,
    payment_id,
    decision,
    fraud_score,
    fraud_model_version,
    churn_score,
    churn_model_version,
    rules_triggered,
    reviewed_by,
    retry_action,
    retry_delay_seconds,
    decided_at,
    recorded_at,
    loaded_at
from {{ source('bronze', 'bronze_decisions') }}
qualify row_number() over (partition by event_id order by loaded_at, recorded_at) = 1
