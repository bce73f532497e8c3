-- Clean one ingestion day of clickstream into staging.clickstream.
-- Known crawlers are dropped here; bots that fake their user agent are removed later from
-- lake.clickstream_sessions (trino_clickstream_marts.delete_bot_sessions).
INSERT OVERWRITE TABLE staging.clickstream PARTITION (dt = '{{ ds }}')
SELECT
    event_id,
    session_id,
    customer_id,
    anonymous_id,
    lower(event_type) AS event_type,
    page_url,
    product_id,
    device,
    upper(country)    AS country,
    referrer,
    event_time,
    ingested_at
FROM raw.clickstream
WHERE dt = '{{ ds }}'
  AND user_agent NOT RLIKE '(?i)(bot|crawler|spider|headless)'
