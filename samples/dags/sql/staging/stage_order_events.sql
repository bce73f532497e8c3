-- Clean one ingestion day of order events into staging.order_events.
-- dt is the day Kafka Connect wrote the file, NOT the day the event happened: the mobile
-- apps buffer events while offline, so event_time can be several days older than dt.
INSERT OVERWRITE TABLE staging.order_events PARTITION (dt = '{{ ds }}')
SELECT
    event_id,
    order_id,
    customer_id,
    product_id,
    lower(event_type)                        AS event_type,
    quantity,
    unit_price,
    CAST(quantity * unit_price AS DECIMAL(12, 2)) AS order_amount,
    upper(currency)                          AS currency,
    upper(country)                           AS country,
    channel,
    event_time,
    ingested_at
FROM raw.order_events
WHERE dt = '{{ ds }}'
  AND order_id IS NOT NULL
  AND event_type IN ('order_created', 'order_paid', 'order_shipped', 'order_cancelled')
