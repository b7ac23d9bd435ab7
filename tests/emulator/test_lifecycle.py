"""The lazy item lifecycle, derived from fixed start and end times and the time of asking (no server)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from airflow_provider_runflow.emulator.catalog import CATALOG
from airflow_provider_runflow.emulator.settings import EmulatorSettings
from airflow_provider_runflow.emulator.state import BatchRequest, ForcedStatus, NewItem, Store

T0 = 1_000_000.0


def _store(**options: object) -> Store:
    return Store(EmulatorSettings(queue_seconds=1.0, run_seconds=2.0, **options))  # type: ignore[arg-type]


def _request(*items: dict[str, object]) -> BatchRequest:
    return BatchRequest(list(items), [NewItem(dict(item), None) for item in items], None, None)


def test_items_move_from_queued_to_running_to_done_with_the_clock() -> None:
    store = _store()
    batch = store.create_batch("org", "user", CATALOG["acme/test-model"], _request({"text": "a"}), T0)
    assert [batch.snapshot(T0 + dt).status for dt in (0.0, 0.99, 1.0, 2.99, 3.0)] == [
        "queued",
        "queued",
        "running",
        "running",
        "succeeded",
    ]
    done = batch.snapshot(T0 + 3.0)
    assert (done.started_at, done.completed_at, done.cost) == (T0 + 1.0, T0 + 3.0, Decimal("0.0010"))


def test_snapshot_is_valid_until_the_next_transition() -> None:
    store = _store()
    request = _request({"text": "a"}, {"text": "b", "run_seconds": 5.0})
    batch = store.create_batch("org", "user", CATALOG["acme/test-model"], request, T0)
    assert [batch.snapshot(T0 + dt).valid_until for dt in (0.0, 1.5, 3.5)] == [T0 + 1.0, T0 + 3.0, T0 + 6.0]
    assert batch.snapshot(T0 + 6.0).valid_until == float("inf")


def test_time_scale_shrinks_every_duration() -> None:
    store = _store(time_scale=0.01)
    batch = store.create_batch("org", "user", CATALOG["acme/test-model"], _request({"text": "a"}), T0)
    assert batch.items[0].ends_at - T0 == pytest.approx(0.03)


def test_run_seconds_bounds_draw_deterministically_from_the_seed() -> None:
    def durations(seed: int) -> list[float]:
        store = Store(EmulatorSettings(seed=seed, run_seconds=(1.0, 2.0), queue_seconds=0.0))
        batch = store.create_batch("org", "u", CATALOG["acme/test-model"], _request(*[{"text": "x"}] * 20), T0)
        return [item.ends_at - item.starts_at for item in batch.items]

    assert durations(1) == durations(1) != durations(2)
    assert all(1.0 <= d <= 2.0 for d in durations(1))


def test_cancelling_every_item_cancels_the_batch() -> None:
    store = _store()
    batch = store.create_batch("org", "user", CATALOG["acme/test-model"], _request({"text": "a"}), T0)
    assert store.cancel_run(batch.items[0].run_id, "stop", T0 + 0.5) == (batch.items[0], True)
    snap = batch.snapshot(T0 + 0.5)
    assert (snap.status, snap.cancelled, snap.failure_code) == ("cancelled", 1, "CANCELLED")
    assert store.cancel_run(batch.items[0].run_id, "again", T0 + 0.6) == (batch.items[0], False)


def test_forced_status_overrides_the_derived_one() -> None:
    store = _store()
    batch = store.create_batch("org", "user", CATALOG["acme/test-model"], _request({"text": "a"}), T0)
    store.force_status(batch, ForcedStatus("Canceled", "ADMIN", "stopped by support", T0 + 0.1))
    snap = batch.snapshot(T0 + 0.2)
    assert (snap.status, snap.completed_at, snap.failure_code, snap.terminal) == ("cancelled", T0 + 0.1, "ADMIN", True)
    store.force_status(batch, ForcedStatus("thinking", None, None, T0 + 0.3))
    assert (batch.snapshot(T0 + 9.0).status, batch.snapshot(T0 + 9.0).terminal) == ("thinking", False)
