-- ATTACK (.sql file): a %-format width of a billion characters
SELECT '{{ '%999999999d' % 1 }}' AS x
