{% snapshot customers_snapshot %}
{{
    config(
        unique_key='customer_id',
        strategy='timestamp',
        updated_at='updated_at'
    )
}}
-- Every version of a customer (SCD-2): segment and country changes are kept with their validity.
select customer_id, email, country, segment, marketing_opt_in, updated_at
from {{ source('shop', 'customers') }}
{% endsnapshot %}
