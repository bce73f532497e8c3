-- Produced by bq_marts_daily.merge_fct_orders (MERGE, current state per order).
CREATE TABLE IF NOT EXISTS `shop-analytics.marts.fct_orders` (
    order_id      INT64 NOT NULL,
    customer_id   INT64,
    product_id    INT64,
    country       STRING,
    channel       STRING,
    status        STRING,
    quantity      INT64,
    order_amount  NUMERIC,
    currency      STRING,
    created_at    TIMESTAMP,
    updated_at    TIMESTAMP,
    order_date    DATE
)
PARTITION BY order_date
CLUSTER BY customer_id;
