-- Produced by bq_marts_daily.build_country_kpis (bq CLI).
CREATE TABLE IF NOT EXISTS `shop-analytics.marts.country_daily_kpis` (
    order_date        DATE,
    country           STRING,
    gross_revenue     NUMERIC,
    prev_day_revenue  NUMERIC,
    revenue_7d        NUMERIC
)
PARTITION BY order_date;
