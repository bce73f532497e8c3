-- Order lifecycle events, typed for the marts: one row per event (duplicates included).
select
    event_id,
    order_id,
    customer_id,
    product_id,
    replace(event_type, 'order_', '') as order_status,
    quantity,
    {{ line_amount('quantity', 'unit_price') }} as line_amount,
    currency,
    country,
    channel,
    event_time,
    ingested_at
from {{ source('raw', 'order_events') }}
