"""Airflow plugins shipped by the provider: the "Runflow outputs" page of a task instance."""
