-- What the feature windows count, on one time axis: attempts (at the attempt), declines (when the
-- payment.failed event occurred), refunds and disputes (when they occurred), each with the
-- customer, card and merchant of its payment.
with attempts as (
    select * from {{ ref('int_payment_attempts') }}
),

events as (
    select * from {{ ref('int_payment_events_usd') }}
),

marks as (
    select
        'attempt:' || payment_id as timeline_id,
        'attempt' as kind,
        payment_id,
        attempted_at as occurred_at,
        amount_usd
    from attempts
    union all
    select
        event_id,
        case event_type
            when 'payment.failed' then 'decline'
            when 'refund.succeeded' then 'refund'
            when 'dispute.opened' then 'dispute'
        end,
        payment_id,
        occurred_at,
        amount_usd
    from events
    where event_type in ('payment.failed', 'refund.succeeded', 'dispute.opened')
)

select
    marks.timeline_id,
    marks.kind,
    marks.payment_id,
    marks.occurred_at,
    marks.amount_usd,
    attempts.customer_id,
    attempts.card_fingerprint,
    attempts.merchant_id,
    attempts.ip_country,
    attempts.card_country,
    attempts.amount_usd as attempt_amount_usd
from marks
inner join attempts on marks.payment_id = attempts.payment_id
