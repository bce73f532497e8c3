-- Produced by bq_marts_daily.build_daily_revenue; restated by bq_marts_daily.restate_daily_revenue
-- and manual_full_refresh_sales.refresh_daily_revenue.
CREATE TABLE IF NOT EXISTS `shop-analytics.marts.daily_revenue` (
    order_date       DATE NOT NULL,
    country          STRING NOT NULL,
    orders           INT64,
    customers        INT64,
    gross_revenue    NUMERIC,
    avg_order_value  NUMERIC
)
PARTITION BY order_date;
