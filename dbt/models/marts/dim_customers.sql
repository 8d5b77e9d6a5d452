-- One row per customer seen in a payment.
select
    customer_id,
    min(attempted_at) as first_payment_at,
    max(attempted_at) as last_payment_at,
    count(*) as payments,
    count(*) filter (where declined) as declined_payments,
    sum(amount_usd) as total_amount_usd,
    count(distinct card_fingerprint) as cards
from {{ ref('fct_payments') }}
where customer_id is not null
group by customer_id
