-- Payments per day and currency: attempts, amounts in the currency and in USD.
select
    attempted_on as day,
    currency,
    count(*) as payments,
    sum(amount_minor) as amount_minor,
    sum(amount_usd) as amount_usd,
    count(*) filter (where succeeded) as succeeded_payments
from {{ ref('fct_payments') }}
group by attempted_on, currency
