"""A human review of a task's results: the question's stable shape, and what an answer means.

Automation depends on the shape, so it is fixed: three options, and three params. ``rejected`` lists
input indexes; ``changes`` maps an input index (a string, as JSON keys are) to the input fields to
replace before it runs again; ``reason`` is free text, required to reject the run.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from airflow_provider_runflow.client.errors import InputProblem, RunflowError, RunflowInputError
from airflow_provider_runflow.client.validation import validate_inputs

APPROVE, REGENERATE, REJECT = "Approve", "Regenerate rejected", "Reject run"
OPTIONS = [APPROVE, REGENERATE, REJECT]
APPROVED, REJECTED = "approved", "rejected"
"""An entry's ``review`` once the run is approved: what flows downstream, and what the reviewer turned down."""


class RunflowReviewRejectedError(RunflowError):
    """The reviewer rejected the run, or no answer came before ``response_timeout``; the message says who and why."""


@dataclass(frozen=True)
class Decision:
    """One reviewer's answer to one review round: who chose what, and when."""

    round: int
    choice: str
    rejected: list[int] = field(default_factory=list)
    changes: dict[str, dict[str, Any]] = field(default_factory=dict)
    reason: str = ""
    by: str | None = None
    at: str | None = None
    timed_out: bool = False

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Decision:
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})

    def describe(self) -> str:
        who = self.by or ("no one: response_timeout passed" if self.timed_out else "an unnamed reviewer")
        what = f"{self.choice}" + (f" (rejected {self.rejected})" if self.rejected else "")
        return f"review round {self.round}: {what} by {who} at {self.at}" + (f": {self.reason}" if self.reason else "")


def decision(
    review_round: int, chosen: list[str], params: dict[str, Any], by: str | None, at: str | None, inputs: int
) -> Decision:
    """The answer as a :class:`Decision`, or :class:`RunflowInputError` naming what is wrong in it.

    Airflow checks the option; the params it cannot check (indexes in range, changes that are
    valid inputs, for rejected items only) are checked here, before anything is sent.
    """
    if len(chosen) != 1 or chosen[0] not in OPTIONS:
        raise RunflowInputError([InputProblem(None, "chosen_options", f"expected one of {OPTIONS}, got {chosen!r}")])
    rejected = params.get("rejected") or []
    if not isinstance(rejected, list) or not all(type(i) is int and 0 <= i < inputs for i in rejected):
        message = f"must be a list of input indexes (0 to {inputs - 1}), got {rejected!r}"
        raise RunflowInputError([InputProblem(None, "rejected", message)])
    changes = params.get("changes") or {}
    if not isinstance(changes, dict):
        raise RunflowInputError([InputProblem(None, "changes", f"must be an object, got {changes!r}")])
    problems = [
        InputProblem(None, f"changes.{key}", "changes only a rejected input's fields")
        for key in changes
        if not (isinstance(key, str) and key.isdigit() and int(key) in rejected)
    ]
    if problems:
        raise RunflowInputError(problems)
    for key, value in changes.items():
        try:
            validate_inputs([value])
        except RunflowInputError as err:
            named = [
                InputProblem(None, f"changes.{key}" + (f".{p.field}" if p.field else ""), p.message)
                for p in err.problems
            ]
            raise RunflowInputError(named) from None
    reason = str(params.get("reason") or "")
    if chosen[0] == REJECT and not reason.strip():
        raise RunflowInputError([InputProblem(None, "reason", "is required to reject the run")])
    if chosen[0] == REGENERATE and not rejected:
        raise RunflowInputError([InputProblem(None, "rejected", "names no item to regenerate")])
    rejected = sorted(set(rejected))
    return Decision(review_round, chosen[0], rejected, changes, reason, by, at)


def marked(entry: dict[str, Any], rejected: set[int]) -> dict[str, Any]:
    """An entry of an approved run, with its ``review``: rejected if the reviewer turned it down."""
    return {**entry, "review": REJECTED if entry["index"] in rejected else APPROVED}
