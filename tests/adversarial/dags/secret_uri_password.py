# ATTACK (leak): a password inside a connection URI, in a bash command line.
from airflow import DAG
from airflow.operators.bash import BashOperator

WAREHOUSE = "postgresql://loader:Adv3rsarial-Fake-Pw@warehouse.internal:5432/dw"

with DAG("adv_secret_uri_password", schedule=None) as dag:
    BashOperator(task_id="count", bash_command=f'psql "{WAREHOUSE}" -c "SELECT COUNT(*) FROM shop.orders"')
