-- Produced by bq_marts_daily.build_product_performance.
CREATE TABLE IF NOT EXISTS `shop-analytics.marts.product_performance` (
    order_date     DATE,
    product_id     INT64,
    sku            STRING,
    category       STRING,
    units          INT64,
    revenue        NUMERIC,
    category_rank  INT64
)
PARTITION BY order_date;
