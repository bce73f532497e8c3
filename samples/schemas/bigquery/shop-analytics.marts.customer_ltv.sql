-- Rebuilt from scratch (CREATE OR REPLACE ... AS SELECT) by bq_customer_360.rebuild_customer_ltv;
-- this is the shape the CTAS produces.
CREATE TABLE IF NOT EXISTS `shop-analytics.marts.customer_ltv` (
    customer_id       INT64,
    segment           STRING,
    country           STRING,
    orders            INT64,
    lifetime_revenue  NUMERIC,
    first_order_date  DATE,
    last_order_date   DATE
)
CLUSTER BY segment;
