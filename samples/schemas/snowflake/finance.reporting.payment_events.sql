-- Produced by finance_payments_reporting.load_payment_events; de-duplicated in place by
-- finance_payments_reporting.dedup_payment_events.
CREATE TABLE IF NOT EXISTS finance.reporting.payment_events (
    event_id         VARCHAR(64)   NOT NULL,
    payment_id       VARCHAR(64)   NOT NULL,
    order_id         NUMBER(19, 0),
    customer_id      NUMBER(19, 0),
    amount           NUMBER(12, 2),
    amount_eur       NUMBER(12, 2),
    currency         VARCHAR(3),
    status           VARCHAR(20),
    provider         VARCHAR(20),
    billing_country  VARCHAR(2),
    event_time       TIMESTAMP_NTZ,
    ingested_at      TIMESTAMP_NTZ,
    payment_date     DATE
)
CLUSTER BY (payment_date);
