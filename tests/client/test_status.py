"""Which statuses end polling; nothing unknown is ever taken for a finished batch."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airflow_provider_runflow.client.status import Status, is_terminal, normalize_status

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


def test_missing_status_is_not_terminal() -> None:
    assert not is_terminal(None)
    assert normalize_status(None) is None


def test_both_spellings_of_cancelled_are_one_status() -> None:
    assert normalize_status(" Canceled ") == normalize_status("CANCELLED") == Status.CANCELLED


@given(st.text().filter(lambda s: s.strip().lower() not in KNOWN))
def test_an_unknown_status_is_never_terminal(status: str) -> None:
    assert not is_terminal(status)


@given(st.sampled_from(sorted(KNOWN)), st.sampled_from([str.upper, str.title, str.lower]), st.sampled_from(["", " "]))
def test_known_statuses_are_recognised_whatever_their_case_and_padding(status: str, case, pad: str) -> None:  # type: ignore[no-untyped-def]
    assert is_terminal(pad + case(status) + pad) == (status in TERMINAL)
