-- Source. Stock per product and warehouse.
CREATE TABLE IF NOT EXISTS shop.inventory (
    product_id    BIGINT NOT NULL REFERENCES shop.products (product_id),
    warehouse_id  TEXT NOT NULL,
    on_hand       INTEGER NOT NULL DEFAULT 0,
    reserved      INTEGER NOT NULL DEFAULT 0,
    updated_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (product_id, warehouse_id)
);
