-- Produced by order_events_staging.stage_clickstream (one partition per ingestion day).
CREATE TABLE IF NOT EXISTS staging.clickstream (
    event_id      STRING,
    session_id    STRING,
    customer_id   BIGINT,
    anonymous_id  STRING,
    event_type    STRING,
    page_url      STRING,
    product_id    BIGINT,
    device        STRING,
    country       STRING,
    referrer      STRING,
    event_time    TIMESTAMP,
    ingested_at   TIMESTAMP
)
PARTITIONED BY (dt STRING)
STORED AS ORC
TBLPROPERTIES ('orc.compress' = 'ZSTD');
