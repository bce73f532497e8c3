{{
    config(
        materialized='incremental',
        unique_key='order_id',
        incremental_strategy='merge',
        on_schema_change='append_new_columns'
    )
}}
-- The current state of every order: its latest lifecycle event wins.
select
    order_id,
    customer_id,
    order_status,
    line_amount as order_amount,
    currency,
    country,
    event_time as updated_at
from {{ ref('stg_order_events') }}
{% if is_incremental() %}
where event_time > (select max(updated_at) from {{ this }})
{% endif %}
qualify row_number() over (partition by order_id order by event_time desc, ingested_at desc) = 1
