-- lake.funnel_conversion: pivot of lake.daily_funnel with the day-over-day change.
-- Run with `spark-sql -f`; no templating (the whole table is recomputed every time).
INSERT OVERWRITE TABLE lake.funnel_conversion
SELECT
    dt,
    country,
    product_views,
    add_to_cart,
    checkouts,
    orders,
    orders / NULLIF(product_views, 0) AS conversion_rate,
    LAG(orders / NULLIF(product_views, 0)) OVER (PARTITION BY country ORDER BY dt)
        AS prev_day_conversion_rate
FROM (
    SELECT
        dt,
        country,
        SUM(CASE WHEN step = 'product_view' THEN visitors ELSE 0 END)     AS product_views,
        SUM(CASE WHEN step = 'add_to_cart' THEN visitors ELSE 0 END)      AS add_to_cart,
        SUM(CASE WHEN step = 'checkout_started' THEN visitors ELSE 0 END) AS checkouts,
        SUM(CASE WHEN step = 'order_paid' THEN visitors ELSE 0 END)       AS orders
    FROM lake.daily_funnel
    GROUP BY dt, country
) f;
