-- Source. Snowpipe from the payment providers' webhooks (Adyen, PayPal, Klarna), database FINANCE.
-- Webhooks are retried until acknowledged: the same event_id can arrive twice. Klarna sends
-- refunds/chargebacks in nightly batches, up to 3 days after they happened.
CREATE TABLE IF NOT EXISTS raw.payments (
    event_id         VARCHAR(64)   NOT NULL COMMENT 'provider webhook event id',
    payment_id       VARCHAR(64)   NOT NULL,
    order_id         NUMBER(19, 0),
    customer_id      NUMBER(19, 0),
    amount           NUMBER(12, 2),
    currency         VARCHAR(3),
    status           VARCHAR(20)   COMMENT 'captured | refunded | chargeback | failed',
    provider         VARCHAR(20),
    billing_country  VARCHAR(2),
    event_time       TIMESTAMP_NTZ,
    ingested_at      TIMESTAMP_NTZ,
    dt               DATE          COMMENT 'ingestion date'
)
CLUSTER BY (dt);
