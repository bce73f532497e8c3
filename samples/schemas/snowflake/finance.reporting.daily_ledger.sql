-- Produced by finance_legacy_ledger.post_daily_ledger; restated (MERGE, last 3 days) by
-- finance_payments_reporting.restate_daily_ledger.
CREATE TABLE IF NOT EXISTS finance.reporting.daily_ledger (
    ledger_date        DATE          NOT NULL,
    currency           VARCHAR(3)    NOT NULL,
    provider           VARCHAR(20)   NOT NULL,
    captured_amount    NUMBER(14, 2),
    refunded_amount    NUMBER(14, 2),
    chargeback_amount  NUMBER(14, 2),
    net_amount         NUMBER(14, 2),
    payment_count      NUMBER(10, 0),
    updated_at         TIMESTAMP_NTZ
);
