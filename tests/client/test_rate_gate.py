"""The pacing gate's turns, with an injected clock."""

from __future__ import annotations

import pytest
from client_support import make_config

from airflow_provider_runflow.client.rate_gate import RateGate, gate_for


@pytest.mark.parametrize(
    ("cap", "closed_for", "asks", "waits"),
    [
        # no cap, open: nobody waits
        (None, None, [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]),
        # a 429 at t=0 closes it for 2 s: every request before t=2 waits until then, later ones do not
        (None, 2.0, [0.5, 1.0, 3.0], [1.5, 1.0, 0.0]),
        # 4 requests per second: turns 0.25 s apart, however many ask at once
        (4.0, None, [0.0, 0.0, 0.0], [0.0, 0.25, 0.5]),
        # capped and closed: the first turn after the pause, the next ones spaced from it
        (4.0, 1.0, [0.0, 0.0], [1.0, 1.25]),
    ],
)
def test_turns(cap: float | None, closed_for: float | None, asks: list[float], waits: list[float]) -> None:
    gate = RateGate(cap)
    if closed_for is not None:
        gate.close_for(0.0, closed_for)
    assert [gate.reserve(now) for now in asks] == waits


def test_one_gate_per_connection_settings() -> None:
    assert gate_for(make_config()) is gate_for(make_config())
    assert gate_for(make_config()) is not gate_for(make_config(max_requests_per_second=5))


@pytest.mark.parametrize("cap", [0, -1.0])
def test_a_cap_must_be_positive(cap: float) -> None:
    with pytest.raises(ValueError, match="max_requests_per_second"):
        make_config(max_requests_per_second=cap)
