-- Source. Operational table of the shop (read replica). One row per customer, current state;
-- its change history is raw.customers_cdc.
CREATE TABLE IF NOT EXISTS shop.customers (
    customer_id       BIGINT PRIMARY KEY,
    email             TEXT NOT NULL UNIQUE,
    first_name        TEXT,
    last_name         TEXT,
    country           CHAR(2) NOT NULL,
    segment           TEXT NOT NULL DEFAULT 'new',
    marketing_opt_in  BOOLEAN NOT NULL DEFAULT false,
    created_at        TIMESTAMP NOT NULL,
    updated_at        TIMESTAMP NOT NULL
);
