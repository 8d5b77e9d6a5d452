-- The one definition of the payments store and the warehouse bronze tables.
-- Portable subset: SQLite, DuckDB and PostgreSQL all execute this file unchanged.
-- Types: TEXT, BIGINT (minor units), DOUBLE PRECISION (scores), TIMESTAMP (UTC, no zone).
-- Each table's columns match a row model in contracts.schemas.records, in order (tested).

-- section: store

CREATE TABLE IF NOT EXISTS payments (
    payment_id TEXT PRIMARY KEY,
    provider TEXT NOT NULL,
    merchant_id TEXT NOT NULL,
    customer_id TEXT,
    card_fingerprint TEXT,
    amount_minor BIGINT NOT NULL,
    currency TEXT NOT NULL,
    status TEXT NOT NULL,
    decision TEXT,
    fraud_score DOUBLE PRECISION,
    fraud_model_version TEXT,
    churn_score DOUBLE PRECISION,
    first_seen_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE IF NOT EXISTS payment_events (
    event_id TEXT PRIMARY KEY,
    payment_id TEXT NOT NULL,
    provider TEXT NOT NULL,
    provider_event_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    status TEXT NOT NULL,
    amount_minor BIGINT NOT NULL,
    currency TEXT NOT NULL,
    occurred_at TIMESTAMP NOT NULL,
    merchant_id TEXT NOT NULL,
    customer_id TEXT,
    card_fingerprint TEXT,
    card_bin TEXT,
    card_country TEXT,
    decline_code TEXT,
    decline_category TEXT,
    refund_id TEXT,
    dispute_id TEXT,
    ip_country TEXT,
    device_id TEXT,
    merchant_category TEXT,
    recorded_at TIMESTAMP NOT NULL
);

CREATE INDEX IF NOT EXISTS payment_events_payment_id ON payment_events (payment_id);
CREATE INDEX IF NOT EXISTS payment_events_recorded_at ON payment_events (recorded_at);

CREATE TABLE IF NOT EXISTS decisions (
    event_id TEXT PRIMARY KEY,
    payment_id TEXT NOT NULL,
    decision TEXT NOT NULL,
    fraud_score DOUBLE PRECISION NOT NULL,
    fraud_model_version TEXT NOT NULL,
    churn_score DOUBLE PRECISION,
    churn_model_version TEXT,
    rules_triggered TEXT NOT NULL,
    reviewed_by TEXT,
    retry_action TEXT,
    retry_delay_seconds BIGINT,
    decided_at TIMESTAMP NOT NULL,
    recorded_at TIMESTAMP NOT NULL
);

CREATE INDEX IF NOT EXISTS decisions_recorded_at ON decisions (recorded_at);

-- Dead letters waiting for triage: one row per dlq id, resolved (redriven or discarded) by someone.
CREATE TABLE IF NOT EXISTS dead_letters (
    dlq_id TEXT PRIMARY KEY,
    stage TEXT NOT NULL,
    source_topic TEXT NOT NULL,
    source_partition BIGINT NOT NULL,
    source_offset BIGINT NOT NULL,
    message_key TEXT,
    reasons TEXT NOT NULL,
    payload_excerpt TEXT NOT NULL,
    failed_at TIMESTAMP NOT NULL,
    status TEXT NOT NULL,
    resolved_by TEXT,
    resolution_note TEXT,
    resolved_at TIMESTAMP,
    recorded_at TIMESTAMP NOT NULL
);

-- Deciding events no decision could be had for: a non-retryable error (no lookup keys, inference
-- refusing the request, an answer or record that does not validate, a write the store refuses).
-- One row per event id, with the error's type and text; nothing is invented in its place. A
-- later deciding event of the same payment may still be decided (then it is in `decisions`).
CREATE TABLE IF NOT EXISTS undecided_events (
    event_id TEXT PRIMARY KEY,
    payment_id TEXT NOT NULL,
    reason_type TEXT NOT NULL,
    reason TEXT NOT NULL,
    undecided_at TIMESTAMP NOT NULL,
    recorded_at TIMESTAMP NOT NULL
);

CREATE INDEX IF NOT EXISTS undecided_events_payment_id ON undecided_events (payment_id);

-- section: warehouse

CREATE TABLE IF NOT EXISTS bronze_payments (
    payment_id TEXT NOT NULL,
    provider TEXT NOT NULL,
    merchant_id TEXT NOT NULL,
    customer_id TEXT,
    card_fingerprint TEXT,
    amount_minor BIGINT NOT NULL,
    currency TEXT NOT NULL,
    status TEXT NOT NULL,
    decision TEXT,
    fraud_score DOUBLE PRECISION,
    fraud_model_version TEXT,
    churn_score DOUBLE PRECISION,
    first_seen_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    loaded_at TIMESTAMP NOT NULL
);

CREATE TABLE IF NOT EXISTS bronze_payment_events (
    event_id TEXT NOT NULL,
    payment_id TEXT NOT NULL,
    provider TEXT NOT NULL,
    provider_event_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    status TEXT NOT NULL,
    amount_minor BIGINT NOT NULL,
    currency TEXT NOT NULL,
    occurred_at TIMESTAMP NOT NULL,
    merchant_id TEXT NOT NULL,
    customer_id TEXT,
    card_fingerprint TEXT,
    card_bin TEXT,
    card_country TEXT,
    decline_code TEXT,
    decline_category TEXT,
    refund_id TEXT,
    dispute_id TEXT,
    ip_country TEXT,
    device_id TEXT,
    merchant_category TEXT,
    recorded_at TIMESTAMP NOT NULL,
    loaded_at TIMESTAMP NOT NULL
);

CREATE TABLE IF NOT EXISTS bronze_decisions (
    event_id TEXT NOT NULL,
    payment_id TEXT NOT NULL,
    decision TEXT NOT NULL,
    fraud_score DOUBLE PRECISION NOT NULL,
    fraud_model_version TEXT NOT NULL,
    churn_score DOUBLE PRECISION,
    churn_model_version TEXT,
    rules_triggered TEXT NOT NULL,
    reviewed_by TEXT,
    retry_action TEXT,
    retry_delay_seconds BIGINT,
    decided_at TIMESTAMP NOT NULL,
    recorded_at TIMESTAMP NOT NULL,
    loaded_at TIMESTAMP NOT NULL
);

CREATE TABLE IF NOT EXISTS bronze_load_watermarks (
    source_table TEXT PRIMARY KEY,
    high_watermark TIMESTAMP NOT NULL,
    rows_loaded BIGINT NOT NULL,
    loaded_at TIMESTAMP NOT NULL
);
