"""Hostile requests to the provider's api-server surfaces: one table of attacks per surface.

The same tables run against Airflow's real ``create_app()`` (``tests/security``, the default
suite) and against a running api-server (``tests/fullstack/test_hostile_requests.py``); a
package, so that the full-stack suite imports them as ``security.attacks``.
"""
