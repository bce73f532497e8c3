-- Source. Kafka topic `clickstream` (Snowplow-style tracker, web and apps).
CREATE EXTERNAL TABLE IF NOT EXISTS raw.clickstream (
    event_id      STRING,
    session_id    STRING,
    customer_id   BIGINT      COMMENT 'NULL for anonymous visitors',
    anonymous_id  STRING      COMMENT 'first-party cookie / app install id',
    event_type    STRING      COMMENT 'page_view | product_view | add_to_cart | checkout_started | purchase',
    page_url      STRING,
    product_id    BIGINT,
    device        STRING      COMMENT 'desktop | mobile_web | ios | android',
    country       STRING,
    referrer      STRING,
    user_agent    STRING,
    event_time    TIMESTAMP,
    ingested_at   TIMESTAMP
)
PARTITIONED BY (dt STRING COMMENT 'ingestion date yyyy-MM-dd')
STORED AS PARQUET
LOCATION 's3a://shop-lake/raw/clickstream';
