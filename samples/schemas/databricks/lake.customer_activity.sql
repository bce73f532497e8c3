-- Delta (CRM Databricks workspace). Produced by lake_daily_sales.build_customer_activity.
CREATE TABLE IF NOT EXISTS lake.customer_activity (
    customer_id    BIGINT,
    sessions       BIGINT,
    page_views     BIGINT,
    product_views  BIGINT,
    add_to_cart    BIGINT,
    last_seen_at   TIMESTAMP,
    segment        STRING,
    country        STRING,
    dt             STRING
)
USING DELTA
PARTITIONED BY (dt);
