-- Payment provider webhooks, one row per event; the payment day is when it happened.
select
    event_id,
    payment_id,
    order_id,
    customer_id,
    amount,
    currency,
    status,
    provider,
    cast(event_time as date) as payment_date,
    event_time
from {{ source('raw', 'payments') }}
