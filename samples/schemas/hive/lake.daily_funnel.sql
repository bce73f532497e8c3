-- Produced by lake_daily_funnel.build_daily_funnel (catchup since 2021-06-01).
CREATE TABLE IF NOT EXISTS lake.daily_funnel (
    country   STRING,
    step      STRING   COMMENT 'product_view | add_to_cart | checkout_started | order_paid',
    visitors  BIGINT,
    events    BIGINT
)
PARTITIONED BY (dt STRING)
STORED AS ORC;
