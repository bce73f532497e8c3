-- Produced by shop_ops_reporting.load_order_facts (upsert); corrected in place by
-- shop_ops_reporting.cancel_stale_unpaid_orders (UPDATE) and .delete_test_orders (DELETE).
CREATE TABLE IF NOT EXISTS analytics.order_facts (
    order_id          BIGINT PRIMARY KEY,
    customer_id       BIGINT NOT NULL,
    customer_country  CHAR(2),
    customer_segment  TEXT,
    status            TEXT NOT NULL,
    total_amount      NUMERIC(12, 2),
    currency          CHAR(3),
    payment_method    TEXT,
    order_date        DATE NOT NULL,
    created_at        TIMESTAMP NOT NULL,
    updated_at        TIMESTAMP NOT NULL
);
