"""Keeping what Runflow generated: copy each item's media from its presigned URLs into object storage.

Pure decisions (which URLs, file names, the checksum manifest, the failure policy) live in ``select``,
``layout``, ``plan``, ``manifest`` and ``options``; ``fetch``, ``stored``, ``refresh`` and ``copier`` do the
I/O; ``persist`` ties them to Airflow.
"""

from airflow_provider_runflow.media.layout import MediaScope
from airflow_provider_runflow.media.options import DEFAULT_CONCURRENCY, DEFAULT_MAX_BYTES, MediaOptions
from airflow_provider_runflow.media.persist import persist_media
from airflow_provider_runflow.media.select import MediaSelector, media_urls

__all__ = [
    "DEFAULT_CONCURRENCY",
    "DEFAULT_MAX_BYTES",
    "MediaOptions",
    "MediaScope",
    "MediaSelector",
    "media_urls",
    "persist_media",
]
