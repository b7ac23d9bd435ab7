"""The steps of a Runflow task between its start and its result, shared by the operator and the sensor.

Submit (:mod:`.submission`), wait on the worker then the triggerer (:mod:`.waiting`), collect the
results (:mod:`.entries`) and finish (:mod:`.finish`); every failure ends through one table
(:mod:`.outcomes`). Decisions are made in ``airflow_provider_runflow.batching``, without I/O;
these modules do the Airflow and Runflow I/O around them. docs/architecture.md draws the path.
"""
