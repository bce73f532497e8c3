-- Produced by shop_ops_reporting.snapshot_inventory.
CREATE TABLE IF NOT EXISTS analytics.inventory_daily (
    snapshot_date  DATE NOT NULL,
    product_id     BIGINT NOT NULL,
    category       TEXT,
    on_hand        BIGINT,
    reserved       BIGINT,
    available      BIGINT,
    stock_value    NUMERIC(14, 2),
    PRIMARY KEY (snapshot_date, product_id)
);
