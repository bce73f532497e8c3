-- One row per customer with their order history, rebuilt from scratch on every run.
select
    c.customer_id,
    c.email,
    c.country,
    c.segment,
    count(o.order_id) as orders,
    coalesce(sum(o.order_amount), 0) as lifetime_value,
    max(o.updated_at) as last_order_at
from {{ ref('stg_customers') }} as c
left join {{ ref('fct_order_state') }} as o on o.customer_id = c.customer_id
group by c.customer_id, c.email, c.country, c.segment
