"""What one task instance recorded: its result entries (or their manifest), summary, batch ids and batch link.

Resolved once per request, by one FastAPI dependency, from Airflow's metadata DB: the rows are
read as the REST API reads them (``XComModel``, bypassing any custom XCom backend), in a session
of their own that is closed before the route reads files or streams: a slow reader never holds
one of the DB pool's connections.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Query, status
from sqlalchemy import select
from sqlalchemy.orm import Session

from airflow_provider_runflow.links.batch import XCOM_BATCH_URL
from airflow_provider_runflow.media.layout import MediaScope
from airflow_provider_runflow.plugins.bounded_json import deeper_than

log = logging.getLogger(__name__)

RETURN_VALUE, SUMMARY, BATCH_IDS = "return_value", "summary", "batch_ids"
_KEYS = (RETURN_VALUE, SUMMARY, BATCH_IDS, XCOM_BATCH_URL)
MAX_INDEX = 2**31 - 1
"""The largest map index, item and page number the routes take: the DB's integer columns hold no more."""


def map_index_param(map_index: Annotated[str, Query(max_length=12)] = "-1") -> int:
    """The ``map_index`` query parameter; ``{MAP_INDEX}`` (left unreplaced for unmapped tasks) or junk means -1.

    A number out of range is refused (422): it names no task instance.
    """
    try:
        number = int(map_index)
    except ValueError:
        return -1
    if not -1 <= number <= MAX_INDEX:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"map_index must be -1..{MAX_INDEX}")
    return number


@dataclass(frozen=True)
class TaskKey(MediaScope):
    """One task instance, as the page's URLs name it (the same identity its media are stored under)."""

    def query(self) -> dict[str, str]:
        return {"dag_id": self.dag_id, "run_id": self.run_id, "task_id": self.task_id, "map_index": str(self.map_index)}


@dataclass(frozen=True)
class TaskRecord:
    """The XComs of a task instance that the page shows, and the instance's state."""

    key: TaskKey
    state: str | None
    operator: str | None
    xcoms: dict[str, Any] = field(default_factory=dict)
    map_indexes: tuple[int, ...] = ()
    """For an unmapped request of a mapped task: the map indexes that exist."""
    unreadable: tuple[str, ...] = ()
    """XCom keys whose value could not be shown: not decodable, or nested too deep."""

    @property
    def returned(self) -> Any:
        return self.xcoms.get(RETURN_VALUE)

    @property
    def manifest(self) -> dict[str, Any] | None:
        """The ``output_path`` manifest the operator returns instead of the entries, if that is what it returned."""
        value = self.returned
        return value if isinstance(value, dict) and isinstance(value.get("output_path"), str) else None

    @property
    def summary(self) -> dict[str, Any] | None:
        value = self.xcoms.get(SUMMARY)
        return value if isinstance(value, dict) else None

    @property
    def batch_ids(self) -> list[str]:
        value = self.xcoms.get(BATCH_IDS) or (self.summary or {}).get("batch_ids") or []
        return [str(batch_id) for batch_id in value] if isinstance(value, list) else []

    @property
    def batch_url(self) -> str | None:
        value = self.xcoms.get(XCOM_BATCH_URL)
        return value if isinstance(value, str) and value.startswith(("http://", "https://")) else None


def read_record(session: Session, key: TaskKey) -> TaskRecord | None:
    """The task instance's record, or None when the DB has no such task instance."""
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.xcom import XComModel

    where = (TaskInstance.dag_id == key.dag_id, TaskInstance.run_id == key.run_id, TaskInstance.task_id == key.task_id)
    row = session.execute(
        select(TaskInstance.state, TaskInstance.operator).where(*where, TaskInstance.map_index == key.map_index)
    ).first()
    if row is None:
        mapped = tuple(session.scalars(select(TaskInstance.map_index).where(*where).order_by(TaskInstance.map_index)))
        return TaskRecord(key, None, None, map_indexes=mapped) if mapped else None
    rows = session.scalars(
        select(XComModel).where(
            XComModel.dag_id == key.dag_id,
            XComModel.run_id == key.run_id,
            XComModel.task_id == key.task_id,
            XComModel.map_index == key.map_index,
            XComModel.key.in_(_KEYS),
        )
    )
    xcoms, unreadable = {}, []
    for xcom in rows:
        try:
            value = XComModel.deserialize_value(xcom)
        except (ValueError, RecursionError):  # not JSON, nested thousands deep, an integer of 5,000 digits
            unreadable.append(xcom.key)
            continue
        if deeper_than(value):
            unreadable.append(xcom.key)
        else:
            xcoms[xcom.key] = value
    state = None if row.state is None else str(row.state)
    return TaskRecord(key, state, row.operator, xcoms, unreadable=tuple(sorted(unreadable)))


def task_record(
    dag_id: str,
    run_id: str,
    task_id: str,
    map_index: Annotated[int, Depends(map_index_param)],
) -> TaskRecord:
    """The FastAPI dependency every route resolves its task instance through (after the access check).

    Its DB session is closed when it returns, before the route reads files or streams.
    """
    from airflow.utils.session import create_session

    with create_session(scoped=False) as session:
        record = read_record(session, TaskKey(dag_id, run_id, task_id, map_index))
    if record is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "No such task instance")
    return record


RecordDep = Annotated[TaskRecord, Depends(task_record)]
