-- End-of-day stock per product over all warehouses (BER, WAW).
-- Re-runs are no-ops: the snapshot of a day is taken once.
INSERT INTO analytics.inventory_daily
    (snapshot_date, product_id, category, on_hand, reserved, available, stock_value)
SELECT
    DATE '{{ ds }}'                             AS snapshot_date,
    i.product_id,
    p.category,
    SUM(i.on_hand)                              AS on_hand,
    SUM(i.reserved)                             AS reserved,
    SUM(i.on_hand - i.reserved)                 AS available,
    SUM((i.on_hand - i.reserved) * p.price)     AS stock_value
FROM shop.inventory i
JOIN shop.products p
  ON p.product_id = i.product_id
WHERE p.is_active
GROUP BY i.product_id, p.category
ON CONFLICT (snapshot_date, product_id) DO NOTHING;
