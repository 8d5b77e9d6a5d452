-- Point-in-time fraud features: one row per payment attempt (customer, card, merchant, time),
-- every stored `FraudFeatures` column computed from what happened strictly before the attempt:
-- a window `_1h` holds the events in [t - 1 h, t). An event exactly one window before t is in;
-- the attempt itself and anything at t or later is out. First events get the no-history values.
with timeline as (
    select * from {{ ref('int_entity_timeline') }}
),

customer as (
    select
        timeline_id,
        count(*) filter (where kind = 'attempt') over {{ before('customer_id', "1 hour") }} as customer_txn_count_1h,
        count(*) filter (where kind = 'attempt') over {{ before('customer_id', "24 hour") }} as customer_txn_count_24h,
        sum(amount_usd) filter (where kind = 'attempt') over {{ before('customer_id', "24 hour") }}
            as customer_amount_usd_24h,
        avg(amount_usd) filter (where kind = 'attempt') over {{ before('customer_id', "30 day") }}
            as customer_avg_amount_usd_30d,
        count(distinct card_fingerprint) filter (where kind = 'attempt') over {{ before('customer_id', "7 day") }}
            as customer_distinct_cards_7d,
        min(occurred_at) filter (where kind = 'attempt') over {{ before('customer_id') }} as customer_first_attempt_at,
        count(*) filter (where kind = 'dispute') over {{ before('customer_id', "90 day") }}
            as customer_dispute_count_90d
    from timeline
    where customer_id is not null
),

card as (
    select
        timeline_id,
        count(*) filter (where kind = 'attempt') over {{ before('card_fingerprint', "1 hour") }} as card_txn_count_1h,
        count(distinct merchant_id) filter (where kind = 'attempt') over {{ before('card_fingerprint', "24 hour") }}
            as card_distinct_merchants_24h,
        count(*) filter (where kind = 'decline') over {{ before('card_fingerprint', "24 hour") }}
            as card_decline_count_24h
    from timeline
    where card_fingerprint is not null
),

customer_card as (
    select
        timeline_id,
        count(*) filter (where kind = 'attempt') over {{ before('customer_id, card_fingerprint') }} as earlier_with_card
    from timeline
    where customer_id is not null and card_fingerprint is not null
),

customer_country as (
    select
        timeline_id,
        count(*) filter (where kind = 'attempt') over {{ before('customer_id, ip_country') }} as earlier_from_country
    from timeline
    where customer_id is not null and ip_country is not null
),

merchant as (
    select
        timeline_id,
        count(*) filter (where kind = 'attempt') over {{ before('merchant_id', "90 day") }} as merchant_attempts_90d,
        count(*) filter (where kind = 'dispute') over {{ before('merchant_id', "90 day") }} as merchant_disputes_90d
    from timeline
)

select
    timeline.payment_id,
    timeline.customer_id,
    timeline.card_fingerprint,
    timeline.merchant_id,
    timeline.ip_country,
    timeline.card_country,
    timeline.occurred_at as event_timestamp,
    timeline.amount_usd,
    cast(hour(timeline.occurred_at) as double) as hour_of_day,
    cast(
        timeline.card_country is not null and timeline.ip_country is not null
        and timeline.card_country <> timeline.ip_country as double
    ) as is_foreign_card,
    case when customer_card.earlier_with_card > 0 then 0e0 else {{ no_history('is_new_card_for_customer') }} end
        as is_new_card_for_customer,
    -- Without a known country the payment cannot be from a new one, unless the customer is new.
    case
        when timeline.ip_country is null
            then case when customer.customer_first_attempt_at is null then {{ no_history('is_new_country_for_customer') }} else 0e0 end
        when customer_country.earlier_from_country > 0 then 0e0
        else {{ no_history('is_new_country_for_customer') }}
    end as is_new_country_for_customer,
    cast(customer.customer_txn_count_1h as double) as customer_txn_count_1h,
    cast(customer.customer_txn_count_24h as double) as customer_txn_count_24h,
    coalesce(customer.customer_amount_usd_24h, {{ no_history('customer_amount_usd_24h') }}) as customer_amount_usd_24h,
    coalesce(customer.customer_avg_amount_usd_30d, {{ no_history('customer_avg_amount_usd_30d') }})
        as customer_avg_amount_usd_30d,
    case
        when customer.customer_avg_amount_usd_30d > 0 then timeline.amount_usd / customer.customer_avg_amount_usd_30d
        else cast({{ var('ratio_without_average') }} as double)
    end as amount_to_customer_avg_ratio,
    cast(card.card_txn_count_1h as double) as card_txn_count_1h,
    cast(card.card_distinct_merchants_24h as double) as card_distinct_merchants_24h,
    cast(card.card_decline_count_24h as double) as card_decline_count_24h,
    cast(customer.customer_distinct_cards_7d as double) as customer_distinct_cards_7d,
    coalesce(
        {{ days_between('customer.customer_first_attempt_at', 'timeline.occurred_at') }},
        {{ no_history('customer_tenure_days') }}
    ) as customer_tenure_days,
    cast(customer.customer_dispute_count_90d as double) as customer_dispute_count_90d,
    case
        when merchant.merchant_attempts_90d > 0
            then least(1e0, merchant.merchant_disputes_90d / merchant.merchant_attempts_90d)
        else {{ no_history('merchant_risk_score') }}
    end as merchant_risk_score
from timeline
inner join customer on timeline.timeline_id = customer.timeline_id
inner join card on timeline.timeline_id = card.timeline_id
inner join customer_card on timeline.timeline_id = customer_card.timeline_id
left join customer_country on timeline.timeline_id = customer_country.timeline_id
inner join merchant on timeline.timeline_id = merchant.timeline_id
where timeline.kind = 'attempt'
