-- ATTACK (.sql file): a template that includes itself, forever
SELECT 1 AS x {% include 'ssti_include_loop.sql' %}
