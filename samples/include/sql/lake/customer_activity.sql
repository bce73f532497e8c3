-- lake.customer_activity (Delta): one row per known customer and ingestion day.
-- Anonymous visitors are ignored; customers missing from the dimension (signed up today,
-- CDC not merged yet) still get a row, with segment 'unknown'.
INSERT OVERWRITE TABLE lake.customer_activity PARTITION (dt = '{{ ds }}')
SELECT
    c.customer_id,
    COUNT(DISTINCT c.session_id)                                   AS sessions,
    SUM(CASE WHEN c.event_type = 'page_view' THEN 1 ELSE 0 END)    AS page_views,
    SUM(CASE WHEN c.event_type = 'product_view' THEN 1 ELSE 0 END) AS product_views,
    SUM(CASE WHEN c.event_type = 'add_to_cart' THEN 1 ELSE 0 END)  AS add_to_cart,
    MAX(c.event_time)                                              AS last_seen_at,
    COALESCE(MAX(d.segment), 'unknown')                            AS segment,
    COALESCE(MAX(d.country), MAX(c.country))                       AS country
FROM staging.clickstream c
LEFT JOIN lake.dim_customers d
  ON d.customer_id = c.customer_id
WHERE c.dt = '{{ ds }}'
  AND c.customer_id IS NOT NULL
GROUP BY c.customer_id
