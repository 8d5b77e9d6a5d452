-- Point-in-time churn features: one row per customer per attempt time, from what happened
-- strictly before it ([t - window, t)). Attempts of one customer at the same instant share a row.
with timeline as (
    select * from {{ ref('int_entity_timeline') }}
    where customer_id is not null
),

windows as (
    select
        customer_id,
        kind,
        occurred_at,
        max(occurred_at) filter (where kind = 'attempt') over {{ before('customer_id') }} as last_attempt_at,
        min(occurred_at) filter (where kind = 'attempt') over {{ before('customer_id') }} as first_attempt_at,
        count(*) filter (where kind = 'attempt') over {{ before('customer_id', "30 day") }} as payments_30d,
        count(*) filter (where kind = 'attempt') over {{ before('customer_id', "90 day") }} as payments_90d,
        count(*) filter (where kind = 'decline') over {{ before('customer_id', "30 day") }} as failed_payments_30d,
        count(*) filter (where kind = 'refund') over {{ before('customer_id', "90 day") }} as refunds_90d,
        count(*) filter (where kind = 'dispute') over {{ before('customer_id', "90 day") }} as disputes_90d,
        avg(amount_usd) filter (where kind = 'attempt') over {{ before('customer_id', "90 day") }} as avg_amount_usd_90d
    from timeline
)

select distinct
    customer_id,
    occurred_at as event_timestamp,
    coalesce({{ days_between('last_attempt_at', 'occurred_at') }}, {{ no_history('days_since_last_payment') }})
        as days_since_last_payment,
    cast(payments_30d as double) as payments_30d,
    cast(payments_90d as double) as payments_90d,
    cast(failed_payments_30d as double) as failed_payments_30d,
    cast(refunds_90d as double) as refunds_90d,
    cast(disputes_90d as double) as disputes_90d,
    coalesce(avg_amount_usd_90d, {{ no_history('avg_amount_usd_90d') }}) as avg_amount_usd_90d,
    coalesce({{ days_between('first_attempt_at', 'occurred_at') }}, {{ no_history('tenure_days') }}) as tenure_days
from windows
where kind = 'attempt'
