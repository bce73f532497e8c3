-- Source. Debezium changelog of shop.customers (flattened with ExtractNewRecordState).
-- op: c = insert, u = update, d = delete. Several versions per customer_id; the connector
-- delivers at-least-once and can replay older changes after a restart.
CREATE EXTERNAL TABLE IF NOT EXISTS raw.customers_cdc (
    op                STRING,
    customer_id       BIGINT,
    email             STRING,
    first_name        STRING,
    last_name         STRING,
    country           STRING,
    segment           STRING   COMMENT 'new | regular | vip',
    marketing_opt_in  BOOLEAN,
    updated_at        TIMESTAMP COMMENT 'source row updated_at',
    ingested_at       TIMESTAMP
)
PARTITIONED BY (dt STRING COMMENT 'ingestion date yyyy-MM-dd')
STORED AS PARQUET
LOCATION 's3a://shop-lake/raw/customers_cdc';
