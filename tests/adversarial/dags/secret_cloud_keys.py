# ATTACK (leak): an AWS key pair in a Redshift COPY, and a key-like token in a variable.
from airflow import DAG
from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator

AWS_SECRET_KEY = "advS3cretKey/0123456789+abcdefghijKLMNOPQR"
STRIPE_TOKEN = "sk_live_ADVERSARIAL0123456789abcd"

with DAG("adv_secret_cloud_keys", schedule=None) as dag:
    SQLExecuteQueryOperator(
        task_id="copy_payments",
        conn_id="redshift_dw",
        sql=(
            "COPY staging.payments FROM 's3://adv-bucket/payments/' "
            f"ACCESS_KEY_ID 'AKIAADVERSARIAL00001' SECRET_ACCESS_KEY '{AWS_SECRET_KEY}' FORMAT AS JSON 'auto'"
        ),
    )
