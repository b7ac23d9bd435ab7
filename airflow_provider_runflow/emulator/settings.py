"""How an emulator is configured: keys, organisations, timing, faults. Serialised as JSON for the subprocess."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from airflow_provider_runflow.emulator.faults import FaultRule

DEFAULT_API_KEY = "rf_live_emulator"
OTHER_ORG_API_KEY = "rf_live_emulator_other_org"
DEFAULT_SERVICE_KEY = "rf_svc_emulator"
DEFAULT_WEBHOOK_SECRET = "whsec_emulator_0123456789abcdef"
_ORG_NAMESPACE = uuid.UUID("6f1f8e52-8a6c-4b8e-9d0f-2f5b8f0e7a11")

RunSeconds = float | tuple[float, float]
ApiKeys = Mapping[str, str | Sequence[str]]


def org_id(name: str) -> str:
    """An organisation id: ``name`` itself when it is a UUID, else a stable UUID derived from it."""
    try:
        return str(uuid.UUID(name))
    except ValueError:
        return str(uuid.uuid5(_ORG_NAMESPACE, name))


DEFAULT_API_KEYS: dict[str, tuple[str, ...]] = {
    DEFAULT_API_KEY: (org_id("emulator-org"),),
    OTHER_ORG_API_KEY: (org_id("emulator-other-org"),),
}


def _orgs(value: str | Sequence[str]) -> tuple[str, ...]:
    names = (value,) if isinstance(value, str) else tuple(value)
    if not names:
        raise ValueError("every API key needs at least one organisation")
    return tuple(org_id(name) for name in names)


@dataclass(frozen=True)
class EmulatorSettings:
    """Everything an emulator process needs to start.

    :param api_keys: inference key → its organisation(s) (names or UUIDs); the first is the key's default,
        the others may be chosen with ``X-Organization-Id``.
    :param run_seconds: run time of an item: fixed, or ``(min, max)`` drawn from ``seed``.
    :param queue_seconds: time an item waits queued before it runs.
    :param time_scale: multiplies every emulated duration (queueing, running, callback backoff).
    :param latency: real seconds added before every Runflow response.
    :param media_url_ttl: seconds a media URL works after an output holding it was read.
    :param media_video_bytes: size of every generated video.
    :param media_faults: fault rules (route ``"*"``) of the media origin.
    :param prices: model (``owner/slug``) → cost of one succeeded item, a decimal string; others keep the catalog's.
    """

    seed: int = 0
    time_scale: float = 1.0
    run_seconds: RunSeconds = (0.2, 0.5)
    queue_seconds: float = 0.05
    latency: float = 0.0
    api_keys: dict[str, tuple[str, ...]] = field(default_factory=lambda: dict(DEFAULT_API_KEYS))
    service_keys: tuple[str, ...] = (DEFAULT_SERVICE_KEY,)
    webhook_secret: str = DEFAULT_WEBHOOK_SECRET
    faults: tuple[FaultRule, ...] = ()
    media_url_ttl: float = 3600.0
    media_video_bytes: int = 256 * 1024
    media_faults: tuple[FaultRule, ...] = ()
    prices: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for model, price in self.prices.items():
            if not Decimal(price).is_finite() or Decimal(price) < 0:
                raise ValueError(f"the price of {model} must be a decimal of 0 or more, got {price!r}")
        object.__setattr__(self, "api_keys", {key: _orgs(orgs) for key, orgs in self.api_keys.items()})
        if isinstance(self.run_seconds, Sequence):
            low, high = self.run_seconds
            object.__setattr__(self, "run_seconds", (float(low), float(high)))
            if not 0 <= low <= high:
                raise ValueError(f"run_seconds bounds must satisfy 0 <= min <= max, got {self.run_seconds}")
        elif self.run_seconds < 0:
            raise ValueError(f"run_seconds must be >= 0, got {self.run_seconds}")
        if self.time_scale <= 0 or self.latency < 0 or self.queue_seconds < 0:
            raise ValueError("time_scale must be > 0; latency and queue_seconds >= 0")
        if not self.api_keys:
            raise ValueError("at least one API key is needed")
        if not all(key.startswith("rf_svc_") for key in self.service_keys):
            raise ValueError("service keys look like rf_svc_...")

    @classmethod
    def build(cls, api_keys: ApiKeys | None = None, **options: Any) -> EmulatorSettings:
        """Settings with ``api_keys`` given in the friendly shape (key → org name, or list of org names)."""
        keys = DEFAULT_API_KEYS if api_keys is None else {k: _orgs(v) for k, v in api_keys.items()}
        return cls(api_keys=dict(keys), **options)

    def to_json(self) -> str:
        data = {name: getattr(self, name) for name in self.__dataclass_fields__}
        data["faults"] = [rule.to_json() for rule in self.faults]
        data["media_faults"] = [rule.to_json() for rule in self.media_faults]
        return json.dumps(data)

    @classmethod
    def from_json(cls, text: str) -> EmulatorSettings:
        data = json.loads(text)
        data["faults"] = tuple(FaultRule.from_json(rule) for rule in data.get("faults", ()))
        data["media_faults"] = tuple(FaultRule.from_json(rule) for rule in data.get("media_faults", ()))
        data["service_keys"] = tuple(data.get("service_keys", (DEFAULT_SERVICE_KEY,)))
        run_seconds = data.get("run_seconds")
        if isinstance(run_seconds, list):
            data["run_seconds"] = tuple(run_seconds)
        return cls(**data)

    def price_of(self, model: str) -> Decimal | None:
        """The configured price of one item of ``model``, if any."""
        price = self.prices.get(model)
        return None if price is None else Decimal(price)

    def organizations(self, key: str) -> tuple[str, ...] | None:
        """The organisations ``key`` may act for (service keys: the default key's), or None if unknown."""
        if key in self.api_keys:
            return self.api_keys[key]
        if key in self.service_keys:
            return next(iter(self.api_keys.values()))
        return None
