-- Paid orders and revenue per country and sales channel, for one ingestion day.
SELECT
  @submission_date AS submission_date,
  country,
  channel,
  COUNT(DISTINCT order_id) AS orders,
  SUM(quantity * unit_price) AS revenue
FROM
  raw.order_events
WHERE
  dt = CAST(@submission_date AS STRING)
  AND event_type = 'order_paid'
GROUP BY
  country,
  channel
