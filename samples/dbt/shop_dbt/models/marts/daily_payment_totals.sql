{{
    config(
        materialized='incremental',
        unique_key=['payment_date', 'provider'],
        incremental_strategy='merge'
    )
}}
-- Captured and refunded amounts per day and provider. Refunds arrive up to 3 days late, so
-- every run recomputes the last days again.
select
    payment_date,
    provider,
    count(distinct payment_id) as payments,
    sum(case when status = 'captured' then amount else 0 end) as captured_amount,
    sum(case when status in ('refunded', 'chargeback') then amount else 0 end) as refunded_amount
from {{ ref('stg_payments') }}
{% if is_incremental() %}
where payment_date >= (select dateadd(day, -{{ var('payment_lookback_days') }}, max(payment_date)) from {{ this }})
{% endif %}
group by payment_date, provider
