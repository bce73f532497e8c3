-- Source. Operational orders (current state; status changes in place).
CREATE TABLE IF NOT EXISTS shop.orders (
    order_id          BIGINT PRIMARY KEY,
    customer_id       BIGINT NOT NULL REFERENCES shop.customers (customer_id),
    status            TEXT NOT NULL,
    total_amount      NUMERIC(12, 2) NOT NULL,
    currency          CHAR(3) NOT NULL,
    payment_method    TEXT,
    shipping_country  CHAR(2) NOT NULL,
    created_at        TIMESTAMP NOT NULL,
    updated_at        TIMESTAMP NOT NULL
);
