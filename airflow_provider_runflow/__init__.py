"""Apache Airflow provider for Runflow's batch API."""

__version__ = "0.1.0"
