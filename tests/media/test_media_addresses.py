"""Media persistence fetches public addresses only: an output's URLs cannot point the worker inside.

A model may echo its input, so a prompt can put any URL in an output. Loopback, private,
link-local (cloud metadata) and other non-public addresses are refused before any connection,
on every redirect too, unless ``[runflow] media_allowed_networks`` (or the operator's
``MediaOptions.allowed_networks``) allows them; a refusal names the URL and nothing it answered.
A file also has an overall deadline: a host trickling bytes cannot hold a download.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from threading import Thread
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from airflow.sdk import ObjectStoragePath
from airflow_support import xcom
from media_support import media_dag

from airflow_provider_runflow.emulator import RunflowEmulator
from airflow_provider_runflow.media import MediaOptions
from airflow_provider_runflow.media.addresses import AddressPolicy
from airflow_provider_runflow.media.copier import MediaCopier

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(64))
REFUSED = "not fetched: it, or a URL it redirects to, has no public address ([runflow] media_allowed_networks)"


@pytest.mark.parametrize(
    ("address", "public"),
    [("8.8.8.8", True), ("2606:4700:4700::1111", True), ("127.0.0.1", False), ("127.8.9.10", False),
     ("10.1.2.3", False), ("172.16.0.1", False), ("192.168.1.1", False), ("169.254.169.254", False),
     ("100.100.100.200", False), ("0.0.0.0", False), ("224.0.0.251", False), ("255.255.255.255", False),
     ("::1", False), ("::", False), ("fe80::1", False), ("fd00:ec2::254", False), ("::ffff:127.0.0.1", False),
     ("::ffff:8.8.8.8", True), ("ff02::1", False)],
)  # fmt: skip
def test_only_public_addresses_are_allowed_by_default(address: str, public: bool) -> None:
    assert AddressPolicy().allows(address) is public


def test_allowed_networks_and_names_open_only_what_they_list() -> None:
    policy = AddressPolicy.parse(["127.0.0.1", "10.20.0.0/16", "[::1]", "Media.Internal."])

    assert [policy.allows(a) for a in ("127.0.0.1", "127.0.0.2", "10.20.9.9", "10.21.0.1", "::1")] == [
        True, False, True, False, True,
    ]  # fmt: skip
    assert policy.allows(ipaddress.ip_address("::ffff:127.0.0.1"))
    assert policy.allows_name("media.internal")
    assert not policy.allows_name("internal")


@pytest.mark.parametrize("entry", ["10.0.0.0/33", "media..internal", "http://media.internal", "::g"])
def test_a_bad_allowed_network_is_refused_naming_it(entry: str) -> None:
    with pytest.raises(ValueError, match=f"media_allowed_networks: {entry!r}"):
        MediaOptions(allowed_networks=("10.0.0.0/8", entry))


@dataclass
class Internal:
    """A loopback HTTP server standing for a service inside the network: what was asked of it."""

    url: str = ""
    requests: list[str] = field(default_factory=list)


@pytest.fixture
def internal() -> Iterator[Internal]:
    """``/secret.png`` (an image), ``/redirect?to=URL`` (302) and ``/trickle.png`` (1 byte every 0.2 s)."""
    seen = Internal()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.requests.append(self.path)
            path, query = urlsplit(self.path).path.lower(), parse_qs(urlsplit(self.path).query)
            if path == "/redirect":
                self.send_response(302)
                self.send_header("Location", query["to"][0])
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(PNG)))
            self.end_headers()
            for byte in PNG if path == "/trickle.png" else [PNG]:
                self.wfile.write(bytes([byte]) if isinstance(byte, int) else byte)
                self.wfile.flush()
                time.sleep(0.2 if path == "/trickle.png" else 0)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    seen.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield seen
    server.shutdown()
    server.server_close()


def copy_one(url: str, folder: Path, options: MediaOptions) -> dict[str, Any]:
    """The media record of one entry whose output is ``url``, copied by the operator's copier."""
    entry = {"index": 0, "status": "succeeded", "output": {"image_url": url}}
    with MediaCopier(ObjectStoragePath(f"file://{folder}"), options) as copier:
        [record] = copier.add_media([entry])[0]["media"]
    return record


@pytest.fixture
def no_allowance(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIRFLOW__RUNFLOW__MEDIA_ALLOWED_NETWORKS", raising=False)


@pytest.mark.usefixtures("airflow_db", "no_allowance")
def test_outputs_pointing_inside_the_network_are_not_fetched(
    runflow_emulator: RunflowEmulator, internal: Internal, media_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_RUNFLOW_DEFAULT", runflow_emulator.connection_json())
    port = urlsplit(internal.url).port
    targets = [f"{internal.url}/secret.png", f"http://localhost:{port}/secret.png",
               "http://169.254.169.254/latest/meta-data/iam/security-credentials/", f"http://[::1]:{port}/secret.png",
               f"http://0.0.0.0:{port}/secret.png"]  # fmt: skip

    run = media_dag("rf_media_internal").test(run_conf={"targets": [{"text": target} for target in targets]})

    assert run.state == "success"  # on_error="continue": the errors stay in the entries
    errors = [entry["media"][0]["error"] for entry in xcom(run, "run")]
    assert errors == [f"http://{target.upper().removeprefix('HTTP://')}: {REFUSED}" for target in targets]
    assert internal.requests == []
    assert not list(media_folder.rglob("*.png"))


@pytest.mark.usefixtures("no_allowance")
def test_a_redirect_into_the_network_is_not_followed(internal: Internal, tmp_path: Path) -> None:
    port = urlsplit(internal.url).port
    hop = f"http://localhost:{port}/redirect?to={internal.url}/secret.png"

    record = copy_one(hop, tmp_path, MediaOptions(allowed_networks=("localhost",)))  # the first host, by name only

    assert record == {"source_url": hop, "path": None, "error": f"http://localhost:{port}/redirect: {REFUSED}"}
    assert [urlsplit(path).path for path in internal.requests] == ["/redirect"]


def test_the_setting_lets_a_private_media_host_through(
    internal: Internal, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW__RUNFLOW__MEDIA_ALLOWED_NETWORKS", "127.0.0.1")

    record = copy_one(f"{internal.url}/secret.png", tmp_path, MediaOptions())

    assert (record["content_type"], record["bytes"]) == ("image/png", len(PNG))
    assert Path(record["path"].removeprefix("file://")).read_bytes() == PNG


@pytest.mark.parametrize(("setting", "override", "stored"), [("127.0.0.1", (), False), ("", ("127.0.0.0/8",), True)])
def test_the_operators_allowed_networks_replace_the_setting(
    internal: Internal, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, setting: str, override: Any, stored: bool
) -> None:
    monkeypatch.setenv("AIRFLOW__RUNFLOW__MEDIA_ALLOWED_NETWORKS", setting)

    record = copy_one(f"{internal.url}/secret.png", tmp_path, MediaOptions(allowed_networks=override))

    assert (record["path"] is not None) is stored
    assert len(internal.requests) == int(stored)


def test_a_file_trickling_in_is_abandoned_at_its_deadline(internal: Internal, tmp_path: Path) -> None:
    options = MediaOptions(allowed_networks=("127.0.0.1",), timeout=3, file_timeout=2)  # 72 bytes at 5 a second
    started = time.monotonic()

    record = copy_one(f"{internal.url}/trickle.png", tmp_path, options)

    assert time.monotonic() - started < 6
    late = "not complete after 2 s in all (media file_timeout); not kept"
    assert record["error"] == f"{internal.url}/trickle.png: {late}"
    assert not list(tmp_path.glob("00000*"))
