"""Fault injection: rules saying which requests fail, and how, decided deterministically from a seed."""

from __future__ import annotations

import random
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from airflow_provider_runflow.emulator import routes


class FaultKind(StrEnum):
    """What happens to a request a rule picks."""

    RATE_LIMIT = "rate_limit"
    """429 with ``Retry-After: <retry_after>``."""
    RATE_LIMIT_NO_RETRY_AFTER = "rate_limit_no_retry_after"
    """429 without ``Retry-After``."""
    SERVER_ERROR = "server_error"
    """500 in the error envelope."""
    BAD_GATEWAY = "bad_gateway"
    """502 with an HTML body, as a proxy would send."""
    UNAVAILABLE = "unavailable"
    """503 in the error envelope."""
    DROP_CONNECTION = "drop_connection"
    """Headers with a Content-Length, part of the body, then the connection is closed; nothing is done."""
    DELAY = "delay"
    """The response is held back ``delay`` seconds (real time, not scaled), then served normally."""
    MALFORMED_JSON = "malformed_json"
    """200 with a body that is not JSON; nothing is done."""
    TRUNCATED_PAGE = "truncated_page"
    """The request is served, but its JSON body is cut in half (a complete HTTP response)."""
    LOSE_RESPONSE = "lose_response"
    """The request is served (a batch IS created), then the connection is dropped before the response."""
    NONE = "none"
    """No fault: in a scripted ``sequence``, lets that request through."""


@dataclass(frozen=True)
class FaultRule:
    """Which requests of ``route`` fail and how.

    Give either ``kind`` (applied with ``probability``, at most ``times`` times) or
    ``sequence`` (the n-th matching request gets ``sequence[n]``; the rule is spent after).

    :param route: a route template such as ``"GET /v1/batches/{id}"``, or ``"*"`` for every Runflow route.
    :param retry_after: seconds sent in ``Retry-After`` by ``rate_limit``.
    :param delay: seconds ``delay`` holds a response back.
    :param per_second: with a ``kind``, the rule spares this many matching requests in each wall-clock
        second and fires on the rest: ``rate_limit`` with ``per_second=50`` is a limit of 50 requests/s.
    """

    route: str = routes.ANY
    kind: FaultKind | None = None
    probability: float = 1.0
    sequence: tuple[FaultKind, ...] = ()
    times: int | None = None
    retry_after: int = 1
    delay: float = 1.0
    per_second: float | None = None

    def __post_init__(self) -> None:
        if self.route != routes.ANY and self.route not in routes.ALL:
            raise ValueError(f"unknown route {self.route!r}; use '*' or one of {', '.join(routes.ALL)}")
        if (self.kind is None) == (not self.sequence):
            raise ValueError("give exactly one of kind or sequence")
        if not 0.0 <= self.probability <= 1.0:
            raise ValueError(f"probability must be within 0..1, got {self.probability}")
        if self.per_second is not None and (self.per_second <= 0 or self.sequence):
            raise ValueError(f"per_second must be > 0 and goes with a kind, got {self.per_second}")
        if self.times is not None and self.times < 0:
            raise ValueError(f"times must be >= 0, got {self.times}")
        if self.kind is not None:
            object.__setattr__(self, "kind", FaultKind(self.kind))
        object.__setattr__(self, "sequence", tuple(FaultKind(k) for k in self.sequence))

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["kind"] = self.kind.value if self.kind else None
        data["sequence"] = [k.value for k in self.sequence]
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FaultRule:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        known["sequence"] = tuple(known.get("sequence") or ())
        return cls(**known)


@dataclass(frozen=True)
class Fault:
    """A fault picked for one request."""

    kind: FaultKind
    retry_after: int = 1
    delay: float = 1.0


@dataclass
class _RuleState:
    rule: FaultRule
    matched: int = 0
    fired: int = 0
    second: int = 0
    in_second: int = 0

    def within_rate(self, per_second: float) -> bool:
        """Whether this request is one of the ``per_second`` the current second spares."""
        second = int(time.time())
        if second != self.second:
            self.second, self.in_second = second, 0
        self.in_second += 1
        return self.in_second <= per_second


@dataclass
class FaultPlan:
    """The active rules and how often each has matched; ``pick`` decides the fault of one request."""

    seed: int
    rules: list[_RuleState] = field(default_factory=list)
    rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def replace(self, rules: Iterable[FaultRule]) -> None:
        """Install ``rules`` with fresh counters and a re-seeded random source."""
        self.rules = [_RuleState(rule) for rule in rules]
        self.rng = random.Random(self.seed)

    def active(self) -> Sequence[FaultRule]:
        return [state.rule for state in self.rules]

    def pick(self, route: str) -> Fault | None:
        """The fault of this request of ``route``, or None; the first rule that fires wins."""
        for state in self.rules:
            rule = state.rule
            if rule.route not in (routes.ANY, route):
                continue
            kind = self._decide(state)
            if kind is None:
                continue
            return None if kind is FaultKind.NONE else Fault(kind, rule.retry_after, rule.delay)
        return None

    def _decide(self, state: _RuleState) -> FaultKind | None:
        rule = state.rule
        if rule.sequence:
            if state.matched >= len(rule.sequence):
                return None
            state.matched += 1
            return rule.sequence[state.matched - 1]
        if rule.times is not None and state.fired >= rule.times:
            return None
        if rule.per_second is not None and state.within_rate(rule.per_second):
            return None
        state.matched += 1
        if rule.probability < 1.0 and self.rng.random() >= rule.probability:
            return None
        state.fired += 1
        return rule.kind
