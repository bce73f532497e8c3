-- Every customer with their paid orders so far, recomputed from all history on each run.
SELECT
  c.customer_id,
  c.country,
  c.segment,
  COUNT(DISTINCT o.order_id) AS paid_orders,
  SUM(o.quantity * o.unit_price) AS paid_revenue,
  MAX(o.event_time) AS last_paid_at
FROM
  shop.customers AS c
LEFT JOIN
  raw.order_events AS o
  ON o.customer_id = c.customer_id
  AND o.event_type = 'order_paid'
GROUP BY
  c.customer_id,
  c.country,
  c.segment
