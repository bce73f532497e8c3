-- Sessions per device and how far they got in the funnel, for one ingestion day. Bots are not
-- filtered here: staging.clickstream does that in the lake, this query reads the raw feed.
SELECT
  @submission_date AS submission_date,
  device,
  COUNT(DISTINCT session_id) AS sessions,
  COUNT(DISTINCT IF(event_type = 'product_view', session_id, NULL)) AS product_view_sessions,
  COUNT(DISTINCT IF(event_type = 'add_to_cart', session_id, NULL)) AS cart_sessions,
  COUNT(DISTINCT IF(event_type = 'purchase', session_id, NULL)) AS purchase_sessions
FROM
  raw.clickstream
WHERE
  dt = CAST(@submission_date AS STRING)
GROUP BY
  device
