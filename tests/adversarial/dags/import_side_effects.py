# ATTACK: code that runs when the file is imported: a marker file, an environment variable.
# The scanner reads the file with ast and never imports it: neither may appear.
import os

from airflow import DAG
from airflow.providers.postgres.operators.postgres import PostgresOperator

open("/tmp/kappa-adversarial-imported", "w").write("imported")
os.environ["KAPPA_ADVERSARIAL_IMPORTED"] = "1"
os.system("touch /tmp/kappa-adversarial-imported-system")

with DAG("adv_import_side_effects", schedule=None) as dag:
    PostgresOperator(task_id="quiet", postgres_conn_id="shop_pg", sql="SELECT 1 FROM shop.orders")
