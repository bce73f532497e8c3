-- Source. Operational product catalogue.
CREATE TABLE IF NOT EXISTS shop.products (
    product_id  BIGINT PRIMARY KEY,
    sku         TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    category    TEXT NOT NULL,
    brand       TEXT,
    price       NUMERIC(10, 2) NOT NULL,
    currency    CHAR(3) NOT NULL DEFAULT 'EUR',
    is_active   BOOLEAN NOT NULL DEFAULT true,
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);
