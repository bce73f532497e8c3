-- Source. Kafka topic `order-events`, landed hourly by the Kafka Connect HDFS sink.
-- One row per order lifecycle event. At-least-once delivery: the same event_id can appear
-- twice. dt is the INGESTION date; event_time can be days older (mobile apps buffer offline).
CREATE EXTERNAL TABLE IF NOT EXISTS raw.order_events (
    event_id     STRING        COMMENT 'UUID set by the producer; retries reuse it',
    order_id     BIGINT,
    customer_id  BIGINT,
    product_id   BIGINT,
    event_type   STRING        COMMENT 'order_created | order_paid | order_shipped | order_cancelled',
    quantity     INT,
    unit_price   DECIMAL(10,2),
    currency     STRING        COMMENT 'ISO 4217, EUR or PLN',
    country      STRING        COMMENT 'shipping country, ISO 3166-1 alpha-2',
    channel      STRING        COMMENT 'web | ios | android',
    event_time   TIMESTAMP     COMMENT 'when it happened (device or server clock, UTC)',
    ingested_at  TIMESTAMP     COMMENT 'when Kafka Connect wrote it (UTC)'
)
PARTITIONED BY (dt STRING COMMENT 'ingestion date yyyy-MM-dd')
STORED AS PARQUET
LOCATION 's3a://shop-lake/raw/order_events';
