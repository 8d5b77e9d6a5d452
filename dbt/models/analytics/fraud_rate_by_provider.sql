-- Share of each provider's payments that were disputed (the fraud label the models learn).
with payments as (
    select provider, payment_id from {{ ref('fct_payments') }}
),

disputed as (
    select distinct payment_id from {{ ref('fct_disputes') }}
)

select
    payments.provider,
    count(*) as payments,
    count(disputed.payment_id) as disputed_payments,
    count(disputed.payment_id) / count(*) as fraud_rate
from payments
left join disputed on payments.payment_id = disputed.payment_id
group by payments.provider
