-- Iceberg (created from Trino). Produced by trino_clickstream_marts.route_orders_fr.
-- Order events of country FR only; read by the country team's BI tool.
CREATE TABLE IF NOT EXISTS lake.order_events_fr (
    event_id      VARCHAR,
    order_id      BIGINT,
    customer_id   BIGINT,
    product_id    BIGINT,
    event_type    VARCHAR,
    quantity      INTEGER,
    unit_price    DECIMAL(10, 2),
    order_amount  DECIMAL(12, 2),
    currency      VARCHAR,
    channel       VARCHAR,
    event_time    TIMESTAMP(6),
    ingested_at   TIMESTAMP(6),
    dt            DATE
)
WITH (format = 'PARQUET', partitioning = ARRAY['dt']);
