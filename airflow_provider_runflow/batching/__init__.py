"""Airflow-free batch logic shared by the operator, trigger and sensor: plans, poll decisions, outcomes.

Pure code: no I/O and no Airflow imports, so the deferred and blocking paths
decide the same way and tests need no server and no sleeping.
"""
