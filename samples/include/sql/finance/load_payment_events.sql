-- Append one ingestion day of provider events to finance.reporting.payment_events.
-- Failed authorisations are not revenue and are dropped. FX rates are the finance team's
-- fixed monthly planning rates (2024-01), not market rates.
INSERT INTO finance.reporting.payment_events
    (event_id, payment_id, order_id, customer_id, amount, amount_eur, currency, status,
     provider, billing_country, event_time, ingested_at, payment_date)
SELECT
    event_id,
    payment_id,
    order_id,
    customer_id,
    amount,
    ROUND(amount * CASE currency WHEN 'EUR' THEN 1.0
                                 WHEN 'PLN' THEN 0.23
                                 ELSE NULL END, 2) AS amount_eur,
    currency,
    LOWER(status)           AS status,
    provider,
    UPPER(billing_country)  AS billing_country,
    event_time,
    ingested_at,
    TO_DATE(event_time)     AS payment_date
FROM raw.payments
WHERE dt = '{{ ds }}'
  AND status <> 'failed';
