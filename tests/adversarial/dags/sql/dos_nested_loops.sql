-- ATTACK (.sql file): nested loops of a million iterations each
{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}SELECT 1 AS x
