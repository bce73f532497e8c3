"""kappa-migrate's input side: scan Airflow repositories statically and analyse their jobs."""

__version__ = "0.1.0"
