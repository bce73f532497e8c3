-- Produced by order_events_staging.stage_order_events (one partition per ingestion day).
CREATE TABLE IF NOT EXISTS staging.order_events (
    event_id      STRING,
    order_id      BIGINT,
    customer_id   BIGINT,
    product_id    BIGINT,
    event_type    STRING,
    quantity      INT,
    unit_price    DECIMAL(10,2),
    order_amount  DECIMAL(12,2),
    currency      STRING,
    country       STRING,
    channel       STRING,
    event_time    TIMESTAMP,
    ingested_at   TIMESTAMP
)
PARTITIONED BY (dt STRING)
STORED AS ORC
TBLPROPERTIES ('orc.compress' = 'ZSTD');
