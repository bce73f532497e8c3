-- Iceberg. Produced by order_events_staging.build_orders_snapshot (append),
-- de-duplicated in place by order_events_staging.dedup_orders.
CREATE TABLE IF NOT EXISTS lake.orders (
    order_id       BIGINT,
    customer_id    BIGINT,
    product_id     BIGINT,
    country        STRING,
    channel        STRING,
    status         STRING,
    order_amount   DECIMAL(12,2),
    currency       STRING,
    created_at     TIMESTAMP,
    last_event_at  TIMESTAMP,
    ingested_at    TIMESTAMP
)
USING iceberg
TBLPROPERTIES ('format-version' = '2', 'write.target-file-size-bytes' = '134217728');
