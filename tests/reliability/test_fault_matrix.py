"""Every fault the emulator can inject, alone and mixed, loses no item and bills no batch twice.

Each case runs ``reliability_fault_matrix`` with dag.test(): 250 inputs through the deferrable operator,
then the same 250 through the blocking one (3 batches each), while the emulator spoils requests.
Faults hit the batch creation POST itself (the first POST of each task), the status polls and
the items pages. A correct run ends with every task successful, each entry equal to the
emulator's deterministic output for its input, in input order, and exactly 6 batches created.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from airflow_support import states, xcom
from reliability_support import (
    CREATE,
    GET_BATCH,
    LIST_ITEMS,
    comparable,
    connection_json,
    expected_entries,
    lost_and_duplicated,
    reliability_dag,
    reliability_dags,
)

from airflow_provider_runflow.emulator import FaultKind, FaultRule, RunflowEmulator

pytestmark = pytest.mark.usefixtures("airflow_db", "fast_backoff")

TIMEOUT = 1.0
"""The connection's ``timeout`` extra; ``delay`` faults hold responses back longer than this."""
DELAY = 1.5
MODES = ("deferred", "blocking")
BATCHES_PER_MODE = 3

SINGLE_KINDS = [
    FaultKind.RATE_LIMIT,
    FaultKind.RATE_LIMIT_NO_RETRY_AFTER,
    FaultKind.SERVER_ERROR,
    FaultKind.BAD_GATEWAY,
    FaultKind.UNAVAILABLE,
    FaultKind.DROP_CONNECTION,
    FaultKind.DELAY,
    FaultKind.MALFORMED_JSON,
    FaultKind.TRUNCATED_PAGE,
    FaultKind.LOSE_RESPONSE,
]


def single_kind_rules(kind: FaultKind) -> list[FaultRule]:
    """``kind`` on the first POST and first items page of each task, and on some status polls."""
    first_of_each_task = (kind, FaultKind.NONE, FaultKind.NONE, FaultKind.NONE, kind)
    return [
        FaultRule(route=CREATE, sequence=first_of_each_task, delay=DELAY),
        FaultRule(route=LIST_ITEMS, sequence=first_of_each_task, delay=DELAY),
        FaultRule(route=GET_BATCH, kind=kind, probability=0.5, times=4, delay=DELAY),
    ]


def mixed_rules() -> list[FaultRule]:
    """Every kind at once on every route, together spoiling ~20% of responses (1 - (1 - p)^10 = 0.2)."""
    each = 1 - 0.8 ** (1 / len(SINGLE_KINDS))
    return [FaultRule(route="*", kind=kind, probability=each, delay=DELAY) for kind in SINGLE_KINDS]


def run_matrix_case(emu: RunflowEmulator, monkeypatch: pytest.MonkeyPatch, rules: list[FaultRule]) -> Any:
    monkeypatch.setenv("AIRFLOW_CONN_RUNFLOW_DEFAULT", connection_json(emu, timeout=TIMEOUT, max_retries=8))
    emu.set_faults(rules)
    run = reliability_dag("reliability_fault_matrix").test()
    emu.clear_faults()
    if any(FaultKind.DELAY in (rule.kind, *rule.sequence) for rule in rules):
        # A request the client gave up on is still served when its delay ends: a late POST must
        # not create a batch either, so the counters are read only once every one has been answered.
        time.sleep(DELAY + 0.3)
    return run


def assert_nothing_lost_nor_billed_twice(
    emu: RunflowEmulator, run: Any, figures: Any, case: str
) -> dict[str, dict[str, int]]:
    counters = emu.counters()
    requests: dict[str, dict[str, int]] = counters["requests"]
    spoilt = {route: sum(n for s, n in by.items() if s not in ("200", "201")) for route, by in requests.items()}
    dags = reliability_dags()
    expected = expected_entries(dags.texts(dags.FAULT_MATRIX_ITEMS))
    lost = duplicates = 0
    for mode in MODES:
        entries = xcom(run, mode) or []
        missing, repeated = lost_and_duplicated(entries, dags.FAULT_MATRIX_ITEMS)
        lost, duplicates = lost + missing, duplicates + repeated
    duplicate_batches = counters["batches_created"] - BATCHES_PER_MODE * len(MODES)
    figures(
        lost=lost,
        duplicates=max(duplicate_batches, 0) + duplicates,
        batches_created=counters["batches_created"],
        requests=requests,
        spoilt=spoilt,
        checked=f"{case}: both modes succeed, 2x250 entries equal the emulator's outputs in order, 6 batches",
    )
    assert states(run) == {(mode, -1): "success" for mode in MODES}, requests
    for mode in MODES:
        assert comparable(xcom(run, mode)) == expected, mode
        assert len(set(xcom(run, mode, key="batch_ids"))) == BATCHES_PER_MODE
    assert counters["batches_created"] == BATCHES_PER_MODE * len(MODES), requests
    assert (lost, duplicates) == (0, 0)
    return requests


@pytest.mark.parametrize("kind", SINGLE_KINDS, ids=[k.value for k in SINGLE_KINDS])
def test_a_single_fault_kind_loses_no_item_and_bills_no_batch_twice(
    runflow_connection: RunflowEmulator, monkeypatch: pytest.MonkeyPatch, figures: Any, kind: FaultKind
) -> None:
    run = run_matrix_case(runflow_connection, monkeypatch, single_kind_rules(kind))

    requests = assert_nothing_lost_nor_billed_twice(runflow_connection, run, figures, kind.value)
    # The fault really hit the POST and the items page of both tasks: each was sent again.
    assert sum(requests[CREATE].values()) >= 2 * BATCHES_PER_MODE + 2, requests[CREATE]
    assert sum(requests[LIST_ITEMS].values()) >= 2 * BATCHES_PER_MODE + 2, requests[LIST_ITEMS]


def test_a_lost_creation_response_is_re_attached_not_paid_twice(
    runflow_connection: RunflowEmulator, monkeypatch: pytest.MonkeyPatch, figures: Any
) -> None:
    """The batch is created, then the response is lost: the retry replays the same batch by Idempotency-Key."""
    every_first_answer_lost = tuple(x for _ in range(6) for x in (FaultKind.LOSE_RESPONSE, FaultKind.NONE))
    run = run_matrix_case(runflow_connection, monkeypatch, [FaultRule(route=CREATE, sequence=every_first_answer_lost)])

    requests = assert_nothing_lost_nor_billed_twice(runflow_connection, run, figures, "lose_response on every POST")
    assert requests[CREATE] == {"dropped": 6, "201": 6}


def test_all_fault_kinds_mixed_at_20_percent_lose_no_item_and_bill_no_batch_twice(
    runflow_connection: RunflowEmulator, monkeypatch: pytest.MonkeyPatch, figures: Any
) -> None:
    run = run_matrix_case(runflow_connection, monkeypatch, mixed_rules())

    requests = assert_nothing_lost_nor_billed_twice(runflow_connection, run, figures, "all kinds mixed at 20%")
    total = sum(n for by in requests.values() for n in by.values())
    spoilt = sum(n for by in requests.values() for s, n in by.items() if s not in ("200", "201"))
    assert spoilt >= 0.05 * total, requests  # faults really were injected (delays answer 200, so fewer show)
