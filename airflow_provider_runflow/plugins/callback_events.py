"""Recording a verified Runflow callback as an asset event, once per batch and event.

Airflow's supported way to record an asset event from the api-server is its asset manager's
``register_asset_change`` (``[core] asset_manager_class``): the public REST endpoint
``POST /api/v2/assets/events`` does exactly this, and it queues the DAGs scheduled on the asset.
docs/events.md says why not the REST API over HTTP, the execution API or an AssetWatcher.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

REPLAY_WINDOW = datetime.timedelta(days=1)
"""How far before the batch's ``created_at`` (clock skew) earlier events are compared for a redelivery."""
LOOKBACK_WITHOUT_DATE = datetime.timedelta(days=30)


@dataclass(frozen=True)
class Callback:
    """A verified delivery: its payload, the connection whose secret signed it, and Runflow's request id."""

    conn_id: str
    request_id: str | None
    payload: dict[str, Any]

    @property
    def key(self) -> tuple[str, str]:
        """What makes two deliveries the same: the batch and the event (a redelivery has a new request id)."""
        return str(self.payload["batch_id"]), str(self.payload["event"])

    def extra(self) -> dict[str, Any]:
        """The event's ``extra``: the payload as Runflow sent it, with the connection and the request id."""
        return {**self.payload, "runflow_conn_id": self.conn_id, "runflow_request_id": self.request_id}


@dataclass(frozen=True)
class Recorded:
    """What the receiver did: the asset event it recorded, or why it recorded none."""

    asset_uri: str
    event_id: int | None = None
    duplicate: bool = False
    no_asset: bool = False


def record_callback(session: Session, asset_uri: str, callback: Callback) -> Recorded:
    """Record ``callback`` on the asset ``asset_uri`` unless an event for the same batch and event exists.

    The asset's row is locked first, so concurrent deliveries of one callback (to two api-server
    workers, or two threads of one) are checked and recorded one after the other: once.
    """
    from airflow.assets.manager import asset_manager

    asset = _locked_asset(session, asset_uri)
    if asset is None:
        return Recorded(asset_uri, no_asset=True)
    if _already_recorded(session, asset.id, callback):
        return Recorded(asset_uri, duplicate=True)
    event = asset_manager.register_asset_change(
        asset=asset, extra=callback.extra(), source_is_api=True, api_user_teams=set(), session=session
    )
    return Recorded(asset_uri, event_id=None if event is None else event.id)


def _locked_asset(session: Session, asset_uri: str) -> Any:
    """The asset's row, locked until the transaction ends: ``SELECT ... FOR UPDATE`` on PostgreSQL and MySQL.

    SQLite has no row locks and ignores ``FOR UPDATE``; there a write to the row comes first, which
    takes SQLite's one write lock (in WAL mode, on the latest snapshot), so the next delivery's
    transaction waits for this one's commit and then sees its event. The write changes nothing.
    """
    from airflow.models.asset import AssetModel

    if session.get_bind().dialect.name == "sqlite":
        unchanged = update(AssetModel).where(AssetModel.uri == asset_uri).values(updated_at=AssetModel.updated_at)
        session.execute(unchanged.execution_options(synchronize_session=False))
    return session.scalar(select(AssetModel).where(AssetModel.uri == asset_uri).with_for_update())


def _already_recorded(session: Session, asset_id: int, callback: Callback) -> bool:
    """Whether an event of this asset since the batch was created carries the same batch and event.

    Matched in SQL on the two JSON keys (SQLite, PostgreSQL and MySQL all index into JSON), so no
    payload is loaded; ``(asset_id, timestamp)`` is indexed.
    """
    from airflow.models.asset import AssetEvent

    batch_id, event = callback.key
    found = session.scalar(
        select(AssetEvent.id)
        .where(
            AssetEvent.asset_id == asset_id,
            AssetEvent.timestamp >= _since(callback.payload),
            AssetEvent.extra["batch_id"].as_string() == batch_id,
            AssetEvent.extra["event"].as_string() == event,
        )
        .limit(1)
    )
    return found is not None


def _since(payload: dict[str, Any]) -> datetime.datetime:
    """Where to look back from: before the batch's ``created_at``, never after now (a date in the future
    would hide the first delivery); without a usable date (none, junk, year 1), the last 30 days."""
    now = datetime.datetime.now(datetime.UTC)
    try:
        created = datetime.datetime.fromisoformat(str(payload.get("created_at")))
        created = created if created.tzinfo else created.replace(tzinfo=datetime.UTC)
        return min(created, now) - REPLAY_WINDOW
    except (ValueError, OverflowError):
        return now - LOOKBACK_WITHOUT_DATE
