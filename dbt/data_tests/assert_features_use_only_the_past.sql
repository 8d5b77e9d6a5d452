-- Leakage guard: a first attempt of a customer (nothing before it) must carry only no-history
-- values, whatever happens at the same instant or later.
select *
from {{ ref('fraud_features') }} as features
where not exists (
    select 1 from {{ ref('int_payment_attempts') }} as earlier
    where earlier.customer_id = features.customer_id and earlier.attempted_at < features.event_timestamp
)
and (
    customer_txn_count_1h <> 0 or customer_txn_count_24h <> 0 or customer_amount_usd_24h <> 0
    or customer_avg_amount_usd_30d <> 0 or customer_distinct_cards_7d <> 0 or customer_tenure_days <> 0
    or is_new_card_for_customer <> 1
)
