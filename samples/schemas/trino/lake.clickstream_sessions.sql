-- Iceberg (created from Trino). Produced by trino_clickstream_marts.build_sessions.
CREATE TABLE IF NOT EXISTS lake.clickstream_sessions (
    session_id     VARCHAR,
    customer_id    BIGINT,
    country        VARCHAR,
    device         VARCHAR,
    session_start  TIMESTAMP(6),
    session_end    TIMESTAMP(6),
    page_views     BIGINT,
    product_views  BIGINT,
    add_to_cart    BIGINT,
    converted      BOOLEAN,
    dt             DATE
)
WITH (format = 'PARQUET', partitioning = ARRAY['dt']);
