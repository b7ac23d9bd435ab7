"""The attack tables: what a hostile client sends to each surface, and what the surface must answer.

Each row names the attack, the request, the statuses that count as refused (or, for hostile
*records*, handled: a page that says what it cannot show), and a text the answer must carry.
Whatever the row, no answer may be a 5xx, echo a secret, or take longer than ``TIMEOUT``.
The requests go through any ``httpx.Client``: Starlette's TestClient on Airflow's ``create_app()``,
or a client of a running api-server.
"""

from __future__ import annotations

import json
import os
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from airflow_provider_runflow.client import SIGNATURE_HEADER
from airflow_provider_runflow.client.signing import runflow_signature

TIMEOUT = 20.0
"""Seconds any answer may take: a request that hangs (a FIFO opened for reading) fails the row."""
HUGE = 10**20
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@dataclass(frozen=True)
class Attack:
    """One hostile request to the outputs app: ``route`` of task instance ``ti`` with ``params``, as ``auth``."""

    name: str
    route: str
    params: dict[str, Any] = field(default_factory=dict)
    ti: str = "legit"
    auth: str = "viewer"
    """``viewer`` (a JWT of a user who may read the DAG), ``none``, or ``forged`` (a JWT not signed by Airflow)."""
    expect: frozenset[int] = frozenset({422})
    says: str = ""
    never: str = ""
    """A text the answer must not carry (markup the browser would run, say)."""


def refused(*codes: int) -> frozenset[int]:
    return frozenset(codes)


# --- the outputs app: /runflow-outputs/{outputs,items,media} -------------------------------

HANDLED_RECORDS = (
    ("results_png", "results: an image as output_path", "cannot be read"),
    ("results_deep", "results: a line nested 200,000 deep", "nested deeper than 64 levels"),
    ("results_nested", "results: a line nested 100 deep", "nested deeper than 64 levels"),
    ("results_fifo", "results: a FIFO as output_path", "cannot be read"),
    ("results_directory", "results: a directory as output_path", "cannot be read"),
    ("results_elsewhere", "results: another task instance's results", "may not read them"),
    ("summary_nan", 'record: summary duration_seconds="nan"', ""),
    ("summary_huge", "record: summary counts of 10^400", ""),
    ("summary_nested", "record: summary nested 100 deep", "cannot be decoded or is nested too deeply"),
    ("entries_deep", "record: an entry's error nested 100 deep", "cannot be decoded or is nested too deeply"),
)
"""Hostile records the page and its JSON must answer 200 for: (task instance, what, a text the answer carries)."""

OUTPUTS_ATTACKS = [
    *(Attack(f"no login: {r}", r, auth="none", expect=refused(401)) for r in ("outputs", "items", "media")),
    *(Attack(f"forged JWT: {r}", r, auth="forged", expect=refused(403)) for r in ("outputs", "items", "media")),
    Attack("page=10^20", "items", {"page": HUGE}),
    Attack("page=10^20 (HTML)", "outputs", {"page": HUGE}),
    Attack("page=-5", "items", {"page": -5}),
    Attack("per_page=10^20", "items", {"per_page": HUGE}),
    Attack("map_index=10^20", "items", {"map_index": HUGE}),
    Attack("map_index=-10^20", "outputs", {"map_index": -HUGE}),
    Attack("item=10^20", "media", {"item": HUGE}),
    Attack("media=10^20", "media", {"media": HUGE}),
    Attack("item=-1", "media", {"item": -1}),
    Attack("item as a path", "media", {"item": "../../etc/passwd"}),
    Attack("status=<script>", "items", {"status": "<script>alert(1)</script>"}),
    Attack("status of 10,000 characters", "items", {"status": "x" * 10_000}),
    Attack("run_id climbing out", "items", {"run_id": "../../../etc"}, expect=refused(404)),
    Attack("task_id with a NUL byte", "items", {"task_id": "run\x00"}, expect=refused(404)),
    Attack("an unknown task instance", "outputs", {"task_id": "nope"}, expect=refused(404)),
    # Records a user with XCom write access planted (see HOSTILE_RECORDS).
    Attack("media: a directory in its own folder", "media", ti="media_paths", expect=refused(404)),
    Attack("media: a FIFO in its own folder", "media", {"item": 1}, "media_paths", expect=refused(404)),
    Attack("media: another task instance's file", "media", {"item": 2}, "media_paths", expect=refused(403)),
    Attack("media: a file outside every root", "media", {"item": 3}, "media_paths", expect=refused(403)),
    Attack("media: climbing out of its folder", "media", {"item": 4}, "media_paths", expect=refused(403)),
    Attack("media: a URL to fetch", "media", {"item": 5}, "media_paths", expect=refused(403)),
    Attack("media: an HTML page as an image", "media", {"item": 6}, "media_paths", expect=refused(403)),
    Attack("media: a content type that is a list", "media", {"item": 7}, "media_paths", expect=refused(403)),
    Attack(
        "page listing those media",
        "outputs",
        ti="media_paths",
        expect=refused(200),
        says="outside [runflow] ui_storage_roots",
        never="<script>",
    ),
    *(
        Attack(f"{what} ({route})", route, ti=ti, expect=refused(200), says=says)
        for ti, what, says in HANDLED_RECORDS
        for route in ("outputs", "items")
    ),
    Attack("results: media of an image as output_path", "media", ti="results_png", expect=refused(404)),
    Attack("item=10^20 of a results file", "media", {"item": HUGE}, "results_ok"),
    Attack("item=2^31-1 of a results file", "media", {"item": 2**31 - 1}, "results_ok", expect=refused(404)),
    Attack("page=2^31-1 of a results file", "items", {"page": 2**31 - 1}, "results_ok", expect=refused(200)),
    Attack(
        "record: an entry with index 10^400 and markup",
        "outputs",
        ti="entries_odd",
        expect=refused(200),
        says="&lt;script&gt;",
        never="<script>",
    ),
    Attack("record: the same, as JSON", "items", ti="entries_odd", expect=refused(200)),
    Attack(
        "record: a javascript: batch link",
        "outputs",
        ti="link_javascript",
        expect=refused(200),
        says="bbbbbbbb",
        never='href="javascript:',
    ),
]


def nested(depth: int) -> Any:
    value: Any = 0
    for _ in range(depth):
        value = [value]
    return value


@dataclass(frozen=True)
class Planted:
    """A task instance's folder (where its files go) and the URI of another task instance's stored file."""

    folder: Path
    other_file: str
    outside_file: str


Records = Callable[[Planted], dict[str, Any]]


def _media(*paths: tuple[str, Any]) -> list[dict[str, Any]]:
    return [
        {"index": i, "status": "succeeded", "media": [{"path": path, "content_type": content_type}]}
        for i, (path, content_type) in enumerate(paths)
    ]


def _media_paths(p: Planted) -> dict[str, Any]:
    (p.folder / "a-directory.png").mkdir()
    os.mkfifo(p.folder / "pipe.png")
    (p.folder / "page.html").write_text("<script>alert(document.cookie)</script>")
    own = p.folder.as_uri()
    return {
        "return_value": _media(
            (f"{own}/a-directory.png", "image/png"),
            (f"{own}/pipe.png", "image/png"),
            (p.other_file, "image/png"),
            (p.outside_file, "image/png"),
            (f"{own}/../../../../{Path(p.outside_file).name}", "image/png"),
            ("https://169.254.169.254/latest/meta-data/", "image/png"),
            (f"{own}/page.html", "text/html"),
            (f"{own}/page.html", ["image/png"]),
        )
    }


def _results(name: str, make: Callable[[Path], None] | None = None) -> Records:
    def records(p: Planted) -> dict[str, Any]:
        if make is not None:
            make(p.folder / name)
        path = (p.folder / name).as_uri() if make is not None else p.other_file
        return {"return_value": {"output_path": path, "format": "jsonl", "items": 1}}

    return records


def _summary(summary: dict[str, Any]) -> Records:
    return lambda p: {"summary": summary}


HOSTILE_RECORDS: dict[str, Records] = {
    "media_paths": _media_paths,
    "results_png": _results("image.png", lambda path: path.write_bytes(PNG)),
    "results_deep": _results("deep.jsonl", lambda path: path.write_text("[" * 200_000 + "]" * 200_000 + "\n")),
    "results_nested": _results("nested.jsonl", lambda path: path.write_text(json.dumps({"index": nested(100)}))),
    "results_fifo": _results("pipe.jsonl", lambda path: os.mkfifo(path)),
    "results_directory": _results("folder.jsonl", lambda path: path.mkdir()),
    "results_elsewhere": _results("elsewhere"),
    "results_ok": _results("ok.jsonl", lambda path: path.write_text('{"index": 0, "status": "succeeded"}\n')),
    "summary_nan": _summary({"total": 1, "duration_seconds": "nan", "cost": "NaN"}),
    "summary_huge": _summary({**dict.fromkeys(("total", "succeeded", "failed", "cancelled", "other"), 10**400)}),
    "summary_nested": _summary({"total": 1, "rounds": nested(100)}),
    "entries_deep": lambda p: {"return_value": [{"index": 0, "status": "failed", "error": nested(100)}]},
    "entries_odd": lambda p: {
        "return_value": [{"index": 10**400, "status": "succeeded", "client_ref": "<script>alert(1)</script>"}]
    },
    "link_javascript": lambda p: {"runflow_batch_url": "javascript:alert(document.cookie)", "batch_ids": ["b" * 5000]},
}
"""XComs to plant in a task instance of ``rf_ui_recorded`` per hostile case (and the files they point at)."""


# --- the callback receiver: POST /runflow-callbacks/{conn_id} -------------------------------------


@dataclass(frozen=True)
class CallbackAttack:
    """One hostile POST to the receiver: a body, how it is signed, where it goes."""

    name: str
    body: Callable[[], bytes]
    signature: str = "valid"
    """``valid`` (under the connection's secret), ``none``, ``forged``, ``non-ASCII``, ``long``."""
    expect: frozenset[int] = frozenset({401})
    conn_id: str = ""
    """Empty: the target's connection."""
    chunked: bool = False


def payload(**changes: Any) -> bytes:
    body = {"event": "batch.succeeded", "batch_id": str(uuid.uuid4()), "status": "succeeded",
            "output": {"items": [], "succeeded": 1, "total": 1}, "created_at": "2026-01-01T12:00:00+00:00"}  # fmt: skip
    return json.dumps({**body, **changes}).encode()


def _oversized() -> bytes:
    return payload(padding="x" * (2 * 1024 * 1024))


CALLBACK_ATTACKS = [
    CallbackAttack("unsigned", payload, "none"),
    CallbackAttack("forged signature", payload, "forged"),
    CallbackAttack("non-ASCII signature (\\xe9 x 64)", payload, "non-ASCII"),
    CallbackAttack("an 8 KiB signature", payload, "long"),
    CallbackAttack("unknown connection", payload, conn_id="runflow_no_such_connection"),
    CallbackAttack("connection id climbing out", payload, conn_id="..%2F..%2Fetc", expect=refused(401, 404)),
    CallbackAttack("a connection id of 4,000 characters", payload, conn_id="c" * 4000, expect=refused(401, 404, 414)),
    CallbackAttack("body over 1 MiB, declared", _oversized, "none", refused(413)),
    CallbackAttack("body over 1 MiB, chunked", _oversized, "none", refused(413), chunked=True),
    CallbackAttack("signed: nested 200,000 deep", lambda: b"[" * 200_000 + b"]" * 200_000, expect=refused(422)),
    CallbackAttack("signed: nested 100 deep", lambda: payload(output=nested(100)), expect=refused(422)),
    CallbackAttack("signed: NaN", lambda: payload().replace(b'"total": 1', b'"total": NaN'), expect=refused(422)),
    CallbackAttack("signed: 1e400", lambda: payload().replace(b'"total": 1', b'"total": 1e400'), expect=refused(422)),
    CallbackAttack(
        "signed: not UTF-8", lambda: payload(note="\udcff").replace(b"\\udcff", b"\xff"), expect=refused(422)
    ),
    CallbackAttack("signed: a JSON list", lambda: b"[]", expect=refused(422)),
    CallbackAttack("signed: no batch_id", lambda: b'{"event": "batch.succeeded"}', expect=refused(422)),
    CallbackAttack("signed: created_at year 1", lambda: payload(created_at="0001-01-01T00:00:00"), expect=refused(200)),
    CallbackAttack("signed: created_at 9999", lambda: payload(created_at="9999-12-31T23:59:59"), expect=refused(200)),
    CallbackAttack("signed: created_at junk", lambda: payload(created_at={"$gt": ""}), expect=refused(200)),
]


@dataclass(frozen=True)
class OutputsTarget:
    """Where the outputs app is, the task instances the attacks name, and the headers of each kind of caller."""

    tis: dict[str, dict[str, Any]]
    """Attack ``ti`` → its query (``dag_id``, ``run_id``, ``task_id``, ``map_index``)."""
    headers: dict[str, dict[str, str]]
    prefix: str = "/runflow-outputs"


def send(client: httpx.Client, target: OutputsTarget, attack: Attack) -> httpx.Response:
    params = {**target.tis[attack.ti], **({"item": 0, "media": 0} if attack.route == "media" else {}), **attack.params}
    url = f"{target.prefix}/{attack.route}"
    return within(TIMEOUT, lambda: client.get(url, params=params, headers=target.headers[attack.auth]))


def within(seconds: float, call: Callable[[], httpx.Response]) -> httpx.Response:
    """``call()``'s answer, or a failure after ``seconds``: an app that hangs (in-process, where no client
    timeout applies) fails its row instead of the whole suite. The stuck call is left on a daemon thread."""
    answers: list[httpx.Response | BaseException] = []

    def run() -> None:
        try:
            answers.append(call())
        except BaseException as err:  # handed to the test's thread
            answers.append(err)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert answers, f"no answer within {seconds:.0f} s"
    if isinstance(answers[0], BaseException):
        raise answers[0]
    return answers[0]


def callers(jwt: str) -> dict[str, dict[str, str]]:
    """The headers of a viewer with ``jwt``, of nobody, and of a viewer whose JWT was tampered with."""
    forged = jwt[:-4] + ("AAAA" if not jwt.endswith("AAAA") else "BBBB")
    return {"viewer": {"Authorization": f"Bearer {jwt}"}, "forged": {"Authorization": f"Bearer {forged}"}, "none": {}}


def plant(client: httpx.Client, headers: dict[str, str], ti: dict[str, Any], xcoms: dict[str, Any]) -> None:
    """Write ``xcoms`` into task instance ``ti`` through Airflow's REST API, as a user with XCom write access can."""
    base = f"/api/v2/dags/{ti['dag_id']}/dagRuns/{ti['run_id']}/taskInstances/{ti['task_id']}/xcomEntries"
    map_index = int(ti.get("map_index", -1))
    for key, value in xcoms.items():
        response = client.patch(f"{base}/{key}", json={"value": value, "map_index": map_index}, headers=headers)
        if response.status_code == 404:
            response = client.post(base, json={"key": key, "value": value, "map_index": map_index}, headers=headers)
        assert response.status_code in (200, 201), (key, response.status_code, response.text[:300])


@dataclass(frozen=True)
class ReceiverTarget:
    url: str
    """With ``{conn_id}``."""
    conn_id: str
    secret: str


def send_callback(client: httpx.Client, target: ReceiverTarget, attack: CallbackAttack) -> httpx.Response:
    body = attack.body()
    signatures = {
        "valid": runflow_signature(target.secret, body),
        "forged": runflow_signature("whsec_guessed", body),
        "non-ASCII": "\xe9" * 64,
        "long": "0" * 8192,
    }
    headers = {"Content-Type": "application/json", "Runflow-Request-Id": str(uuid.uuid4())}
    if attack.signature != "none":
        headers[SIGNATURE_HEADER] = signatures[attack.signature]
    content: Any = iter([body[i : i + 65536] for i in range(0, len(body), 65536)]) if attack.chunked else body
    url = target.url.format(conn_id=attack.conn_id or target.conn_id)
    return within(TIMEOUT, lambda: client.post(url, content=content, headers=_latin1(headers)))


def _latin1(headers: dict[str, str]) -> dict[str, bytes]:
    """Headers as bytes: HTTP carries Latin-1, and httpx refuses non-ASCII strings itself."""
    return {name: value.encode("latin-1") for name, value in headers.items()}


def assert_handled(response: httpx.Response, attack: Attack | CallbackAttack, secrets: tuple[str, ...]) -> None:
    """The answer is one the row expects, never a 5xx; it carries what it must and echoes no secret."""
    assert response.status_code < 500, response.text[:500]
    assert response.status_code in attack.expect, (response.status_code, response.text[:500])
    if isinstance(attack, Attack):
        assert attack.says in response.text, response.text[:2000]
        assert not attack.never or attack.never not in response.text
    for secret in secrets:
        assert secret not in response.text


def hostile_task_instances(
    client: httpx.Client, admin: dict[str, str], run_id: str, root: Path, planted: Callable[[Path], Planted]
) -> dict[str, dict[str, Any]]:
    """Each case of :data:`HOSTILE_RECORDS` planted in its own mapped task instance of ``rf_ui_hostile``'s run."""
    from airflow_provider_runflow.media.layout import MediaScope

    tis = {}
    for map_index, (case, records) in enumerate(HOSTILE_RECORDS.items()):
        ti = {"dag_id": "rf_ui_hostile", "run_id": run_id, "task_id": "stand_in", "map_index": map_index}
        folder = root / MediaScope(ti["dag_id"], run_id, ti["task_id"], map_index).folder()
        folder.mkdir(parents=True, exist_ok=True)
        plant(client, admin, ti, records(planted(folder)))
        tis[case] = ti
    return tis
