-- SCD1. Produced by bq_customer_360.merge_dim_customer (MERGE from shop.customers).
CREATE TABLE IF NOT EXISTS `shop-analytics.marts.dim_customer` (
    customer_id       INT64 NOT NULL,
    email             STRING,
    country           STRING,
    segment           STRING,
    marketing_opt_in  BOOL,
    updated_at        TIMESTAMP
);
