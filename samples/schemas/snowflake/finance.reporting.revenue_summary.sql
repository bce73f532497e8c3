-- Rebuilt every night (TRUNCATE + INSERT) by finance_payments_reporting.rebuild_revenue_summary.
CREATE TABLE IF NOT EXISTS finance.reporting.revenue_summary (
    revenue_month    DATE,
    billing_country  VARCHAR(2),
    provider         VARCHAR(20),
    payments         NUMBER(10, 0),
    captured_eur     NUMBER(14, 2),
    refunded_eur     NUMBER(14, 2),
    net_revenue_eur  NUMBER(14, 2)
);
