-- One row per card fingerprint seen in a payment.
select
    card_fingerprint,
    min(card_bin) as card_bin,
    min(card_country) as card_country,
    min(attempted_at) as first_seen_at,
    count(*) as payments,
    count(distinct customer_id) as customers
from {{ ref('int_payment_attempts') }}
where card_fingerprint is not null
group by card_fingerprint
