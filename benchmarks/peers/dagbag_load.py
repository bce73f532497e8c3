"""Load a DAG folder with Airflow's own `DagBag` (run inside the Airflow virtual environment).

    benchmarks/.venvs/airflow/bin/python benchmarks/peers/dagbag_load.py REPO/dags

Prints one `KAPPA_PROBE {...}` JSON line: Airflow's import time, the DagBag fill time, the DAGs,
tasks and import errors it found.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time


def main() -> int:
    folder = os.path.abspath(sys.argv[1])
    home = tempfile.mkdtemp(prefix="kappa-bench-airflow-")
    # Airflow puts the DAG folder on sys.path (the DAGs import their `common` package from it)
    os.environ.update(
        {
            "AIRFLOW_HOME": home,
            "AIRFLOW__CORE__DAGS_FOLDER": folder,
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "ERROR",
        }
    )
    sys.path.insert(0, folder)
    started = time.perf_counter()
    try:
        from airflow.dag_processing.dagbag import DagBag  # noqa: PLC0415 - timed: Airflow's import
    except ImportError:  # Airflow 2
        from airflow.models.dagbag import DagBag  # noqa: PLC0415
    imported = time.perf_counter()
    bag = DagBag(dag_folder=folder, safe_mode=False)
    filled = time.perf_counter()
    tasks = sum(len(dag.tasks) for dag in bag.dags.values())
    result = {
        "import_seconds": imported - started,
        "seconds": filled - imported,
        "dags": len(bag.dags),
        "tasks": tasks,
        "import_errors": len(bag.import_errors),
    }
    print("KAPPA_PROBE " + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
