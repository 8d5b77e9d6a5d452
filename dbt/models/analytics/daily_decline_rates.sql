-- Share of attempts declined, per day and provider.
select
    attempted_on as day,
    provider,
    count(*) as payments,
    count(*) filter (where declined) as declined_payments,
    count(*) filter (where declined) / count(*) as decline_rate
from {{ ref('fct_payments') }}
group by attempted_on, provider
