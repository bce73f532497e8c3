-- Iceberg, SCD1. Produced by lake_daily_sales.merge_dim_products (MERGE from shop.products).
CREATE TABLE IF NOT EXISTS lake.dim_products (
    product_id  BIGINT,
    sku         STRING,
    name        STRING,
    category    STRING,
    brand       STRING,
    price       DECIMAL(10,2),
    currency    STRING,
    is_active   BOOLEAN,
    updated_at  TIMESTAMP
)
USING iceberg
TBLPROPERTIES ('format-version' = '2');
