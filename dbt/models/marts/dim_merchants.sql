-- One row per merchant seen in a payment.
with payments as (
    select * from {{ ref('int_payment_attempts') }}
),

disputes as (
    select merchant_id, count(*) as disputes from {{ ref('fct_disputes') }} group by merchant_id
)

select
    payments.merchant_id,
    min(payments.merchant_category) as merchant_category,
    min(payments.attempted_at) as first_payment_at,
    count(*) as payments,
    coalesce(any_value(disputes.disputes), 0) as disputes
from payments
left join disputes on payments.merchant_id = disputes.merchant_id
group by payments.merchant_id
