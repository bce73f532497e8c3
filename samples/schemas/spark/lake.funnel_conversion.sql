-- Produced by lake_daily_funnel.build_funnel_conversion (spark-sql -f, full rewrite).
CREATE TABLE IF NOT EXISTS lake.funnel_conversion (
    dt                        STRING,
    country                   STRING,
    product_views             BIGINT,
    add_to_cart               BIGINT,
    checkouts                 BIGINT,
    orders                    BIGINT,
    conversion_rate           DOUBLE,
    prev_day_conversion_rate  DOUBLE
)
USING parquet;
