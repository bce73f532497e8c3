-- Produced by shop_customer_sync.accumulate_order_stats (incremental upsert); churn_risk set
-- in place by shop_customer_sync.flag_churn_risk.
CREATE TABLE IF NOT EXISTS analytics.customer_order_stats (
    customer_id     BIGINT PRIMARY KEY,
    orders          INTEGER NOT NULL,
    revenue         NUMERIC(14, 2) NOT NULL,
    first_order_at  TIMESTAMP,
    last_order_at   TIMESTAMP,
    churn_risk      BOOLEAN NOT NULL DEFAULT false,
    updated_at      TIMESTAMP NOT NULL
);
