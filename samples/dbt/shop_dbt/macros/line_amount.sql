{#- The amount of an order line, rounded as the shop's invoices round it. -#}
{% macro line_amount(quantity, unit_price) -%}
    cast({{ quantity }} * {{ unit_price }} as number(12, 2))
{%- endmacro %}
