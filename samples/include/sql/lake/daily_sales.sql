-- lake.daily_sales: paid orders per event day, country, category and customer segment.
-- Counts only events that arrived on the day they happened; late events (mobile apps buffer
-- them offline) are folded in by lake_late_data_fix, which rewrites the last 3 days.
INSERT OVERWRITE TABLE lake.daily_sales PARTITION (dt = '{{ ds }}')
SELECT
    o.country,
    p.category,
    COALESCE(c.segment, 'unknown') AS customer_segment,
    COUNT(DISTINCT o.order_id)     AS orders,
    COUNT(DISTINCT o.customer_id)  AS customers,
    SUM(o.quantity)                AS units,
    SUM(o.order_amount)            AS revenue
FROM staging.order_events o
JOIN lake.dim_products p
  ON p.product_id = o.product_id
LEFT JOIN lake.dim_customers c
  ON c.customer_id = o.customer_id
WHERE o.dt = '{{ ds }}'
  AND to_date(o.event_time) = '{{ ds }}'
  AND o.event_type = 'order_paid'
GROUP BY o.country, p.category, COALESCE(c.segment, 'unknown')
