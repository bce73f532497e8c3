-- Produced by lake_daily_sales.build_daily_sales; rewritten by lake_late_data_fix and
-- manual_full_refresh_sales. dt is the EVENT date.
CREATE TABLE IF NOT EXISTS lake.daily_sales (
    country           STRING,
    category          STRING,
    customer_segment  STRING,
    orders            BIGINT,
    customers         BIGINT,
    units             BIGINT,
    revenue           DECIMAL(14,2)
)
PARTITIONED BY (dt STRING)
STORED AS ORC;
