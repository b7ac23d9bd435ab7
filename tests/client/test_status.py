"""Which statuses end polling and which mean success; nothing unknown is ever taken for either."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airflow_provider_runflow.client import Status, is_success, is_terminal, normalize_status

TERMINAL = ["succeeded", "partial_succeeded", "failed", "cancelled", "canceled", "errored"]
IN_FLIGHT = ["queued", "dispatching", "running"]
KNOWN = {s.value for s in Status} | {"canceled"}


@pytest.mark.parametrize("status", TERMINAL)
def test_terminal_states_end_polling(status: str) -> None:
    assert is_terminal(status)
    assert is_terminal(status.upper())


@pytest.mark.parametrize("status", IN_FLIGHT)
def test_in_flight_states_are_not_terminal(status: str) -> None:
    assert not is_terminal(status)
    assert not is_success(status)


@pytest.mark.parametrize("status", ["succeeded", "SUCCEEDED", " succeeded "])
def test_only_succeeded_is_success(status: str) -> None:
    assert is_success(status)


@pytest.mark.parametrize("status", ["partial_succeeded", "failed", "cancelled", "canceled", "errored"])
def test_terminal_states_other_than_succeeded_are_not_success(status: str) -> None:
    assert not is_success(status)


def test_missing_status_is_neither_terminal_nor_success() -> None:
    assert not is_terminal(None)
    assert not is_success(None)
    assert normalize_status(None) is None


@given(st.text().filter(lambda s: s.strip().lower() not in KNOWN))
def test_an_unknown_status_is_never_terminal_nor_success(status: str) -> None:
    assert not is_terminal(status)
    assert not is_success(status)


@given(st.sampled_from(sorted(KNOWN)), st.sampled_from([str.upper, str.title, str.lower]), st.sampled_from(["", " "]))
def test_known_statuses_are_recognised_whatever_their_case_and_padding(status: str, case, pad: str) -> None:  # type: ignore[no-untyped-def]
    assert is_terminal(pad + case(status) + pad) == (status in TERMINAL)
