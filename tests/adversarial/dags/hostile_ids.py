# ATTACK (outputs): dag_id and task_id values that would write outside the output folder, name a
# Windows device, hold NUL or are too long for a file name. Scanned as written; `kappa generate`
# must turn each into a safe, unique file name inside its output folder.
from airflow import DAG
from airflow.providers.postgres.operators.postgres import PostgresOperator

INSERT = "INSERT INTO analytics.adv_{} SELECT order_id, customer_id FROM shop.orders WHERE created_at >= DATE '{{{{ ds }}}}'"

with DAG("../../../../tmp/kappa-adversarial-escape", schedule=None) as dag:
    PostgresOperator(task_id="../../escape", postgres_conn_id="shop_pg", sql=INSERT.format("a"))
    PostgresOperator(task_id="/abs/path", postgres_conn_id="shop_pg", sql=INSERT.format("b"))
    PostgresOperator(task_id="nul\x00byte", postgres_conn_id="shop_pg", sql=INSERT.format("c"))
    PostgresOperator(task_id="CON", postgres_conn_id="shop_pg", sql=INSERT.format("d"))
    PostgresOperator(task_id="con", postgres_conn_id="shop_pg", sql=INSERT.format("e"))
    PostgresOperator(task_id="Daily", postgres_conn_id="shop_pg", sql=INSERT.format("f"))
    PostgresOperator(task_id="daily", postgres_conn_id="shop_pg", sql=INSERT.format("g"))
    PostgresOperator(task_id="a/b", postgres_conn_id="shop_pg", sql=INSERT.format("h"))
    PostgresOperator(task_id="a_b", postgres_conn_id="shop_pg", sql=INSERT.format("i"))
    PostgresOperator(task_id="ü" * 200, postgres_conn_id="shop_pg", sql=INSERT.format("j"))
    PostgresOperator(task_id="x" * 300, postgres_conn_id="shop_pg", sql=INSERT.format("k"))
    PostgresOperator(task_id="x" * 300 + "y", postgres_conn_id="shop_pg", sql=INSERT.format("l"))
    PostgresOperator(task_id="..", postgres_conn_id="shop_pg", sql=INSERT.format("m"))
    PostgresOperator(task_id="\u202eexe.sql", postgres_conn_id="shop_pg", sql=INSERT.format("n"))
