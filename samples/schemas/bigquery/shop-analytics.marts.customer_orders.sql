-- Produced by bq_customer_360.build_customer_orders.
CREATE TABLE IF NOT EXISTS `shop-analytics.marts.customer_orders` (
    order_id                   INT64,
    customer_id                INT64,
    order_date                 DATE,
    order_amount               NUMERIC,
    customer_segment           STRING,
    order_seq                  INT64,
    days_since_previous_order  INT64,
    running_revenue            NUMERIC
)
PARTITION BY order_date
CLUSTER BY customer_id;
