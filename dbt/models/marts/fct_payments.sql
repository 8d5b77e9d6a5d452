-- One row per payment: the attempt, its amount in USD, its current status and its decision.
with attempts as (
    select * from {{ ref('int_payment_attempts') }}
),

payments as (
    select * from {{ ref('stg_payments') }}
),

decisions as (
    select *
    from {{ ref('stg_decisions') }}
    qualify row_number() over (partition by payment_id order by decided_at desc, event_id desc) = 1
)

select
    attempts.payment_id,
    attempts.provider,
    attempts.merchant_id,
    attempts.customer_id,
    attempts.card_fingerprint,
    attempts.amount_minor,
    attempts.currency,
    attempts.amount_usd,
    attempts.attempted_at,
    cast(attempts.attempted_at as date) as attempted_on,
    attempts.declined,
    attempts.succeeded,
    coalesce(payments.status, case when attempts.declined then 'failed' when attempts.succeeded then 'succeeded' else 'pending' end)
        as status,
    decisions.decision,
    decisions.fraud_score,
    decisions.fraud_model_version
from attempts
left join payments on attempts.payment_id = payments.payment_id
left join decisions on attempts.payment_id = decisions.payment_id
