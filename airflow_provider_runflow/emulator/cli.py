"""``runflow-emulator``: run the Runflow emulator in the foreground until SIGINT or SIGTERM."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from airflow_provider_runflow.emulator.faults import FaultRule
from airflow_provider_runflow.emulator.server import READY_PREFIX, connection_json, serve
from airflow_provider_runflow.emulator.settings import EmulatorSettings, RunSeconds


def _run_seconds(text: str) -> RunSeconds:
    low, _, high = text.partition(",")
    return (float(low), float(high)) if high else float(low)


def _api_key(text: str) -> tuple[str, list[str]]:
    key, _, orgs = text.partition("=")
    return key, [org for org in orgs.split(",") if org] or [f"org-of-{key}"]


def _price(text: str) -> tuple[str, str]:
    model, _, price = text.partition("=")
    if not price:
        raise argparse.ArgumentTypeError(f"expected MODEL=PRICE, got {text!r}")
    return model, price


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="runflow-emulator", description="A local emulator of Runflow's batch API.")
    p.add_argument("--host", default="127.0.0.1", help="interface to listen on (default: 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port; 0 picks a free one (default: 8000)")
    p.add_argument("--media-port", type=int, default=0, help="port of the media origin (default: a free one)")
    p.add_argument("--config", help="settings as JSON, or the path of a JSON file; the options below override it")
    p.add_argument("--seed", type=int, help="seed of ids, run times and fault decisions (default: 0)")
    p.add_argument("--time-scale", type=float, help="multiplies every emulated duration (default: 1.0)")
    p.add_argument("--run-seconds", type=_run_seconds, help="item run time: SECONDS or MIN,MAX (default: 0.2,0.5)")
    p.add_argument("--queue-seconds", type=float, help="time an item stays queued (default: 0.05)")
    p.add_argument("--latency", type=float, help="real seconds added before every Runflow response (default: 0)")
    p.add_argument(
        "--api-key",
        action="append",
        type=_api_key,
        metavar="KEY[=ORG[,ORG...]]",
        help="an inference key and its organisation(s); repeatable; replaces the default keys",
    )
    p.add_argument("--service-key", action="append", help="a service key (rf_svc_...) for admin routes; repeatable")
    p.add_argument("--webhook-secret", help="secret signing callbacks (whsec_...)")
    p.add_argument(
        "--price",
        action="append",
        type=_price,
        metavar="MODEL=PRICE",
        help="cost of one succeeded item of MODEL (owner/slug), e.g. acme/image-gen=0.004; repeatable",
    )
    p.add_argument(
        "--fault",
        action="append",
        type=json.loads,
        metavar="JSON",
        help='a fault rule, e.g. \'{"kind": "unavailable", "probability": 0.1}\'',
    )
    return p


def settings_from(args: argparse.Namespace) -> EmulatorSettings:
    """Settings from ``--config``, overridden by every option given."""
    base = EmulatorSettings()
    if args.config:
        text = args.config.strip()
        base = EmulatorSettings.from_json(text if text.startswith("{") else Path(text).read_text())
    overrides = {
        "seed": args.seed,
        "time_scale": args.time_scale,
        "run_seconds": args.run_seconds,
        "queue_seconds": args.queue_seconds,
        "latency": args.latency,
        "webhook_secret": args.webhook_secret,
        "api_keys": dict(args.api_key) if args.api_key else None,
        "prices": {**base.prices, **dict(args.price)} if args.price else None,
        "service_keys": tuple(args.service_key) if args.service_key else None,
        "faults": tuple(FaultRule.from_json(rule) for rule in args.fault) if args.fault else None,
    }
    return replace(base, **{name: value for name, value in overrides.items() if value is not None})


def announce(settings: EmulatorSettings, url: str) -> None:
    key, orgs = next(iter(settings.api_keys.items()))
    print(f"{READY_PREFIX}{url}", flush=False)
    print(f"API key: {key} (organization {orgs[0]}); service key: {settings.service_keys[0]}")
    print(f"Webhook secret: {settings.webhook_secret}")
    print("Example Airflow connection:")
    print(f"  export AIRFLOW_CONN_RUNFLOW_DEFAULT='{connection_json(url, key)}'")
    print(f"Control API: {url}/_emulator/ (faults, counters, reset). Stop with Ctrl+C or SIGTERM.", flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        settings = settings_from(args)
    except (ValueError, TypeError) as err:
        print(f"runflow-emulator: invalid settings: {err}", file=sys.stderr)
        return 2
    serve(settings, args.host, args.port, lambda url: announce(settings, url), args.media_port)
    return 0
