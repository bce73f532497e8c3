# Support file: one task per template attack in dags/sql/ (each .sql file is a case of its own;
# deep_jinja, huge_include and ssti_include_symlink are made at test time).
from airflow import DAG
from airflow.providers.postgres.operators.postgres import PostgresOperator

with DAG("adv_template_files", schedule=None) as dag:
    PostgresOperator(task_id='deep_jinja', postgres_conn_id="shop_pg", sql='sql/deep_jinja.sql')
    PostgresOperator(task_id='dos_center', postgres_conn_id="shop_pg", sql='sql/dos_center.sql')
    PostgresOperator(task_id='dos_concat_doubling', postgres_conn_id="shop_pg", sql='sql/dos_concat_doubling.sql')
    PostgresOperator(task_id='dos_filter_indent', postgres_conn_id="shop_pg", sql='sql/dos_filter_indent.sql')
    PostgresOperator(task_id='dos_json_indent', postgres_conn_id="shop_pg", sql='sql/dos_json_indent.sql')
    PostgresOperator(task_id='dos_list_doubling', postgres_conn_id="shop_pg", sql='sql/dos_list_doubling.sql')
    PostgresOperator(task_id='dos_nested_loops', postgres_conn_id="shop_pg", sql='sql/dos_nested_loops.sql')
    PostgresOperator(task_id='dos_percent_width', postgres_conn_id="shop_pg", sql='sql/dos_percent_width.sql')
    PostgresOperator(task_id='dos_power', postgres_conn_id="shop_pg", sql='sql/dos_power.sql')
    PostgresOperator(task_id='dos_replace_growth', postgres_conn_id="shop_pg", sql='sql/dos_replace_growth.sql')
    PostgresOperator(task_id='huge_include', postgres_conn_id="shop_pg", sql='sql/huge_include.sql')
    PostgresOperator(task_id='ssti_cycler', postgres_conn_id="shop_pg", sql='sql/ssti_cycler.sql')
    PostgresOperator(task_id='ssti_getattr_chain', postgres_conn_id="shop_pg", sql='sql/ssti_getattr_chain.sql')
    PostgresOperator(task_id='ssti_include_loop', postgres_conn_id="shop_pg", sql='sql/ssti_include_loop.sql')
    PostgresOperator(task_id='ssti_include_symlink', postgres_conn_id="shop_pg", sql='sql/ssti_include_symlink.sql')
    PostgresOperator(task_id='ssti_lipsum', postgres_conn_id="shop_pg", sql='sql/ssti_lipsum.sql')
    PostgresOperator(task_id='ssti_mro', postgres_conn_id="shop_pg", sql='sql/ssti_mro.sql')
    PostgresOperator(task_id='ssti_self', postgres_conn_id="shop_pg", sql='sql/ssti_self.sql')
