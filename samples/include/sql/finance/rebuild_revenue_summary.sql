-- Monthly revenue per billing country and provider, rebuilt from scratch every night.
TRUNCATE TABLE finance.reporting.revenue_summary;

INSERT INTO finance.reporting.revenue_summary
    (revenue_month, billing_country, provider, payments, captured_eur, refunded_eur,
     net_revenue_eur)
SELECT
    DATE_TRUNC('month', payment_date)                                    AS revenue_month,
    billing_country,
    provider,
    COUNT(DISTINCT payment_id)                                           AS payments,
    SUM(IFF(status = 'captured', amount_eur, 0))                         AS captured_eur,
    SUM(IFF(status IN ('refunded', 'chargeback'), amount_eur, 0))        AS refunded_eur,
    SUM(IFF(status = 'captured', amount_eur, 0))
      - SUM(IFF(status IN ('refunded', 'chargeback'), amount_eur, 0))    AS net_revenue_eur
FROM finance.reporting.payment_events
GROUP BY DATE_TRUNC('month', payment_date), billing_country, provider;
