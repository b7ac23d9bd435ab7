"""RunflowPersistMediaOperator: keep the media of batches that finished elsewhere (e.g. a sensor's)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import BaseOperator

from airflow_provider_runflow.batching.results import Tally
from airflow_provider_runflow.client import calls
from airflow_provider_runflow.hooks.runflow import RunflowHook
from airflow_provider_runflow.media.options import MediaOptions
from airflow_provider_runflow.media.persist import media_error, open_copier, persisted
from airflow_provider_runflow.steps.entries import batch_entries
from airflow_provider_runflow.steps.outcomes import ending_as_airflow

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context


class RunflowPersistMediaOperator(BaseOperator):
    """Copy every media URL of the succeeded items of finished batches into ``media_path``.

    For batches created outside this DAG and waited for with ``RunflowBatchSensor`` (whose summary
    carries ``batch_ids``). Returns the batches' result entries, in item order, each with ``media``;
    the layout, checks, retries and ``on_error`` policy are ``RunflowBatchOperator``'s (docs/media.md).

    :param batch_ids: one batch id or a list of them (templated).
    :param media_path: ObjectStoragePath URI to copy the media to (templated).
    :param runflow_conn_id: the Runflow connection (to read the items, and fresh URLs when some expired).
    :param media: which URLs, concurrency, size cap, retries, ``on_error``.
    """

    template_fields: Sequence[str] = ("batch_ids", "media_path", "runflow_conn_id")

    def __init__(
        self,
        *,
        batch_ids: str | list[str],
        media_path: str,
        runflow_conn_id: str = RunflowHook.default_conn_name,
        media: MediaOptions | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.batch_ids = batch_ids
        self.media_path = media_path
        self.runflow_conn_id = runflow_conn_id
        self.media = media or MediaOptions()

    def execute(self, context: Context) -> list[dict[str, Any]]:
        ids = [self.batch_ids] if isinstance(self.batch_ids, str) else [str(b) for b in self.batch_ids]
        with ending_as_airflow(), RunflowHook(self.runflow_conn_id).get_conn() as client:
            counts = [client.send(calls.poll_batch(batch_id)).items_total or 0 for batch_id in ids]
            with open_copier(str(self.media_path), context, self.media, client) as copier:
                entries = [
                    entry for batch in persisted(batch_entries(client, ids, counts, Tally()), copier) for entry in batch
                ]
            if error := media_error(copier, str(self.media_path), self.media):
                raise error
        return entries
