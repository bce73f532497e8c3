-- Iceberg, SCD1. Produced by lake_daily_sales.merge_dim_customers (MERGE from raw.customers_cdc).
CREATE TABLE IF NOT EXISTS lake.dim_customers (
    customer_id       BIGINT,
    email             STRING,
    first_name        STRING,
    last_name         STRING,
    country           STRING,
    segment           STRING,
    marketing_opt_in  BOOLEAN,
    updated_at        TIMESTAMP
)
USING iceberg
TBLPROPERTIES ('format-version' = '2', 'write.merge.mode' = 'merge-on-read');
