"""The review form of the outputs tab: what a reviewer's post says, and whether their own page sent it.

No script runs on the page, so the form is plain HTML, posted with Airflow's session cookie, which
a forged post from another page would carry too. So a post carried by the cookie is believed only
when it comes from the page's own origin (``Origin``, else ``Referer``) and carries the token the
page gave this user for this round of this task instance's review: an HMAC under Airflow's
``[api] secret_key``. A post authenticated by a bearer token (automation) cannot be made by a
browser on someone's behalf, and needs neither.

The fields: ``round``, ``token``, ``choice`` (the option), ``reject`` (an input index, repeated),
``reason``, ``input.<index>.<field>`` (an input field as the page shows it: text, or JSON when the
field is not a string) and ``changes.<index>`` (more fields to replace, as a JSON object).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from starlette.datastructures import Headers

from airflow_provider_runflow.batching.review import Decision, decision
from airflow_provider_runflow.plugins import bounded_json
from airflow_provider_runflow.plugins.task_record import MAX_INDEX, TaskKey

MAX_FIELDS = 20_000
"""Fields a post may carry: 200 items (the largest page) with up to 99 input fields each."""


class FormError(ValueError):
    """A post that is not a review form, or whose fields cannot be read; the message names the field."""


@dataclass(frozen=True)
class ReviewForm:
    """A reviewer's post, read but not yet judged against the question."""

    round: int
    token: str
    choice: str
    rejected: list[int]
    reason: str = ""
    fields: dict[int, dict[str, str]] = field(default_factory=dict)
    changes: dict[int, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, body: bytes) -> ReviewForm:
        """The form of an ``application/x-www-form-urlencoded`` body, or :class:`FormError`."""
        try:
            pairs = parse_qsl(body.decode(), keep_blank_values=True, strict_parsing=False, max_num_fields=MAX_FIELDS)
        except UnicodeDecodeError:
            raise FormError("The form is not UTF-8 text") from None
        except ValueError:
            raise FormError(f"The form has more than {MAX_FIELDS} fields") from None
        one = {name: value for name, value in pairs}
        fields: dict[int, dict[str, str]] = {}
        changes: dict[int, str] = {}
        for name, value in pairs:
            kind, _, rest = name.partition(".")
            if kind == "input" and "." in rest:
                index, _, input_field = rest.partition(".")
                fields.setdefault(_index(index, name), {})[input_field] = value.replace("\r\n", "\n")
            elif kind == "changes" and value.strip():
                changes[_index(rest, name)] = value
        return cls(
            round=_index(one.get("round", ""), "round"),
            token=one.get("token", ""),
            choice=one.get("choice", ""),
            rejected=[_index(value, "reject") for name, value in pairs if name == "reject"],
            reason=one.get("reason", "").replace("\r\n", "\n"),
            fields=fields,
            changes=changes,
        )

    def changed(self, inputs: list[dict[str, Any]] | None) -> dict[str, dict[str, Any]]:
        """The fields the reviewer changed, by rejected input: those of the shown ones that differ, and the JSON ones.

        Fields of inputs not rejected are passed over: the page shows them only for a rejected item.
        """
        found: dict[str, dict[str, Any]] = {}
        for index in self.rejected:
            current = inputs[index] if inputs is not None and index < len(inputs) else {}
            changed = {
                name: value
                for name, text in self.fields.get(index, {}).items()
                if name in current and (value := _value(text, current[name], f"input[{index}].{name}")) != current[name]
            }
            if index in self.changes:
                extra = _json(self.changes[index], f"changes.{index}")
                if not isinstance(extra, dict):
                    raise FormError(f"changes.{index}: must be a JSON object of input fields")
                changed |= extra
            if changed:
                found[str(index)] = changed
        return found

    def answer(self, inputs: list[dict[str, Any]] | None, total: int, by: str | None) -> Decision:
        """The reviewer's decision, checked as any answer is (``batching.review.decision``: ``RunflowInputError``);
        its time is set when it is recorded."""
        params = {"rejected": self.rejected, "changes": self.changed(inputs), "reason": self.reason}
        return decision(self.round, [self.choice], params, by, None, total)


def form_token(secret: str, user_id: str, key: TaskKey, review_round: int) -> str:
    """The token the page gives ``user_id`` to answer round ``review_round`` of ``key``'s review."""
    message = json.dumps([user_id, key.dag_id, key.run_id, key.task_id, key.map_index, review_round])
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def valid_token(token: str, secret: str, user_id: str, key: TaskKey, review_round: int) -> bool:
    return hmac.compare_digest(token.encode(), form_token(secret, user_id, key, review_round).encode())


def same_origin(headers: Headers, base_url: str | None) -> bool:
    """Whether a post comes from a page of this api-server: its ``Origin`` (else ``Referer``) names this host.

    This host is the one the request was sent to (``Host``), or that of ``[api] base_url`` behind a proxy
    that rewrites it. No ``Origin`` and no ``Referer`` (or ``Origin: null``): not shown to come from here.
    """
    source = headers.get("origin") or headers.get("referer") or ""
    netloc = urlsplit(source).netloc.lower() if source != "null" else ""
    hosts = {headers.get("host", "").lower(), urlsplit(base_url or "").netloc.lower()} - {""}
    return bool(netloc) and netloc in hosts


def _index(text: str, name: str) -> int:
    if not (text.isdigit() and text.isascii() and int(text) <= MAX_INDEX):
        raise FormError(f"{name}: expected a whole number, got {text[:40]!r}")
    return int(text)


def _value(text: str, current: Any, name: str) -> Any:
    """A shown field as the reviewer left it: text for a string field, JSON for any other."""
    return text if isinstance(current, str) else _json(text, name)


def _json(text: str, name: str) -> Any:
    try:
        return bounded_json.loads(text, finite=True)
    except ValueError as err:
        reason = err if isinstance(err, bounded_json.TooDeep) else "not JSON"
        raise FormError(f"{name}: {reason}") from None
