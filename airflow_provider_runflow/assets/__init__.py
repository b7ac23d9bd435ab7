"""Runflow asset URIs: ``runflow://<host>/models/<owner>/<slug>`` and ``runflow://<host>/batches`` (docs/events.md)."""
