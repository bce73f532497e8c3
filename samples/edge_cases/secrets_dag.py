# EDGE CASE: credentials written into a DAG file (all of them fake). The scan reports each one as
# E050 secret-in-code at its place, and no value may reach analysis.json, the report, the
# generated jobs or the scan cache (tests/test_secrets.py greps every output for them):
#   - line 23: a password inside a connection URI
#   - line 24: an API token (key-like value, variable named *_TOKEN)
#   - line 25: an AWS access key id
#   - line 35: a password in default_args
#   - line 46: the token again, through a task param the SQL renders
#   - line 55: the URI again, in a bash command line (psql)
# Both tasks only read (pattern none, nothing generated); the rendered SQL shows `'***'` where the
# token was.
"""Partner order sync whose author pasted credentials into the code (see above)."""

from __future__ import annotations

from datetime import datetime

from airflow import DAG
from airflow.operators.bash import BashOperator
from airflow.providers.postgres.operators.postgres import PostgresOperator

# Fake values, for the test that proves none of them leaks.
PARTNER_DB_URI = "postgresql://partner_etl:Kappa-Fake-Pw-7731@partner-db.internal:5432/partners"
PARTNER_API_TOKEN = "kfk9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a"
AWS_ACCESS_KEY_ID = "AKIAKAPPAFAKE0000042"

with DAG(
    dag_id="edge_secrets_in_code",
    start_date=datetime(2024, 1, 1),
    schedule_interval="@daily",
    catchup=False,
    default_args={
        "owner": "partner-integrations",
        "retries": 1,
        "password": "Kappa-Fake-DefaultArg-Pw",
    },
    tags=["edge-case"],
) as dag:

    count_partner_orders = PostgresOperator(
        task_id="count_partner_orders",
        postgres_conn_id="shop_pg",
        sql="""
        SELECT COUNT(*) AS partner_orders
        FROM shop.orders
        WHERE partner_token = '{{ params.partner_token }}'
          AND created_at >= DATE '{{ ds }}'
        """,
        params={"partner_token": PARTNER_API_TOKEN, "aws_key": AWS_ACCESS_KEY_ID},
    )

    check_partner_db = BashOperator(
        task_id="check_partner_db",
        bash_command=(
            f'psql "{PARTNER_DB_URI}" -c "SELECT COUNT(*) FROM partners.orders WHERE created_at >= DATE \'{{{{ ds }}}}\'"'
        ),
    )

    count_partner_orders >> check_partner_db
