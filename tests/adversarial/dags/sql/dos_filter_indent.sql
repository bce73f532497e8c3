-- ATTACK (.sql file): a filter asked for a billion-character indent
SELECT '{{ 'a
b'|indent(999999999) }}' AS x
