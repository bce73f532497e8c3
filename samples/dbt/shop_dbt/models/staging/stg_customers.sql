select
    customer_id,
    lower(email) as email,
    country,
    segment,
    marketing_opt_in,
    updated_at
from {{ source('shop', 'customers') }}
