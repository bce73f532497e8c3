"""
Features and nightly training for the "customers also bought" recommender.

``lake.ml_user_item_interactions`` (one row per customer, product and day) is the training
input; the model is trained in a pod on the GPU node pool and published to the model registry,
from where the recommendation service picks it up.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from airflow.providers.apache.spark.operators.spark_sql import SparkSqlOperator
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from airflow.sdk import Asset, dag, task
from kubernetes.client import models as k8s

INTERACTIONS = Asset("s3://shop-lake/lake/ml_user_item_interactions")


@dag(
    dag_id="ml_recommendation_features",
    schedule="0 4 * * *",
    start_date=datetime(2024, 1, 1),
    catchup=False,
    default_args={"owner": "ml-platform", "retries": 1, "retry_delay": timedelta(minutes=10)},
    tags=["ml", "spark", "kubernetes"],
    doc_md=__doc__,
)
def ml_recommendation_features():
    build_interactions = SparkSqlOperator(
        task_id="build_interactions",
        conn_id="spark_sql_default",
        outlets=[INTERACTIONS],
        sql="""
        INSERT OVERWRITE TABLE lake.ml_user_item_interactions PARTITION (dt = '{{ ds }}')
        SELECT
            COALESCE(c.customer_id, p.customer_id)       AS customer_id,
            COALESCE(c.product_id, p.product_id)         AS product_id,
            COALESCE(c.product_views, 0)                 AS product_views,
            COALESCE(c.add_to_cart, 0)                   AS add_to_cart,
            COALESCE(p.purchases, 0)                     AS purchases,
            greatest(c.last_click_at, p.last_purchase_at) AS last_interaction_at
        FROM (
            SELECT customer_id, product_id,
                   SUM(CASE WHEN event_type = 'product_view' THEN 1 ELSE 0 END) AS product_views,
                   SUM(CASE WHEN event_type = 'add_to_cart' THEN 1 ELSE 0 END)  AS add_to_cart,
                   MAX(event_time) AS last_click_at
            FROM staging.clickstream
            WHERE dt = '{{ ds }}'
              AND customer_id IS NOT NULL
              AND product_id IS NOT NULL
            GROUP BY customer_id, product_id
        ) c
        FULL OUTER JOIN (
            SELECT customer_id, product_id,
                   COUNT(DISTINCT order_id) AS purchases,
                   MAX(event_time)          AS last_purchase_at
            FROM staging.order_events
            WHERE dt = '{{ ds }}'
              AND event_type = 'order_paid'
            GROUP BY customer_id, product_id
        ) p
          ON p.customer_id = c.customer_id
         AND p.product_id = c.product_id
        """,
    )

    @task
    def training_window(ds: str | None = None) -> dict[str, str]:
        """The 90-day window the model is trained on, ending at the logical date."""
        until = date.fromisoformat(ds)
        return {"since": (until - timedelta(days=90)).isoformat(), "until": ds}

    window = training_window()

    # Opaque to SQL tooling: the training code lives in the ml-recommender repository.
    train_recommender = KubernetesPodOperator(
        task_id="train_recommender",
        name="train-recommender",
        namespace="ml-jobs",
        image="europe-docker.pkg.dev/shop-analytics/ml/recommender-trainer:2024.01.3",
        cmds=["python", "-m", "recommender.train"],
        arguments=[
            "--interactions", "s3://shop-lake/lake/ml_user_item_interactions",
            "--since", "{{ ti.xcom_pull(task_ids='training_window')['since'] }}",
            "--until", "{{ ti.xcom_pull(task_ids='training_window')['until'] }}",
            "--registry", "mlflow://recommender",
        ],
        container_resources=k8s.V1ResourceRequirements(limits={"nvidia.com/gpu": "1", "memory": "24Gi"}),
        node_selector={"pool": "gpu-t4"},
        get_logs=True,
        on_finish_action="delete_pod",
    )

    [build_interactions, window] >> train_recommender


ml_recommendation_features()
