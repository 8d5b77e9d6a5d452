-- Bronze amounts equal mart amounts per day and currency: payments (each payment once, at its
-- first payment.* event) and succeeded refunds, read from bronze directly, against the marts.
-- Any row returned is a day and currency where they differ.
with bronze_events as (
    select distinct on (event_id) *
    from {{ source('bronze', 'bronze_payment_events') }}
    order by event_id, loaded_at
),

bronze_payments as (
    select distinct on (payment_id)
        cast(occurred_at as date) as day, currency, amount_minor
    from bronze_events
    where event_type like 'payment.%'
    order by payment_id, occurred_at, event_id
),

bronze as (
    select 'payment' as kind, day, currency, sum(amount_minor) as amount_minor from bronze_payments group by all
    union all
    select 'refund', cast(occurred_at as date), currency, sum(amount_minor)
    from bronze_events where event_type = 'refund.succeeded' group by all
),

marts as (
    select 'payment' as kind, attempted_on as day, currency, sum(amount_minor) as amount_minor
    from {{ ref('fct_payments') }} group by all
    union all
    select 'refund', refunded_on, currency, sum(amount_minor) from {{ ref('fct_refunds') }} group by all
)

select coalesce(bronze.kind, marts.kind) as kind, coalesce(bronze.day, marts.day) as day,
    coalesce(bronze.currency, marts.currency) as currency,
    bronze.amount_minor as bronze_amount_minor, marts.amount_minor as mart_amount_minor
from bronze
full outer join marts
    on bronze.kind = marts.kind and bronze.day = marts.day and bronze.currency = marts.currency
where bronze.amount_minor is distinct from marts.amount_minor
