"""Which addresses the worker may fetch media from: public ones, and what an administrator allows (pure).

An output's URLs come from the model, and a model may echo its input: a prompt could make the
worker fetch ``http://127.0.0.1:8080/...``, a cloud's metadata service, or any host of the
private network, and store the answer. So loopback, private, link-local (metadata services
among them), shared, reserved and multicast addresses are refused, unless listed in
``[runflow] media_allowed_networks`` (or the operator's ``MediaOptions.allowed_networks``):
comma-separated host names or addresses and networks in CIDR notation.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def is_public(address: Address) -> bool:
    """A globally routable unicast address (an IPv4-mapped IPv6 address is judged by its IPv4 address)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


@dataclass(frozen=True)
class AddressPolicy:
    """Public addresses, plus the ``networks`` and the host ``names`` an administrator allowed."""

    networks: tuple[Network, ...] = ()
    names: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, entries: Iterable[str]) -> AddressPolicy:
        """From entries such as ``127.0.0.1``, ``10.0.0.0/8``, ``::1`` or ``media.internal``; a bad one is a
        ``ValueError`` naming it."""
        networks, names = [], set()
        for raw in filter(None, (entry.strip() for entry in entries)):
            try:
                networks.append(ipaddress.ip_network(raw.strip("[]"), strict=False))
            except ValueError:
                if "/" in raw or ":" in raw or not all(part for part in raw.rstrip(".").split(".")):
                    bad = f"media_allowed_networks: {raw!r} is neither a host name nor an address or CIDR network"
                    raise ValueError(bad) from None
                names.add(raw.lower().rstrip("."))
        return cls(tuple(networks), frozenset(names))

    def allows_name(self, host: str) -> bool:
        """Whether ``host`` was allowed by name, whatever it resolves to."""
        return host.lower().rstrip(".") in self.names

    def allows(self, address: str | Address) -> bool:
        """Whether media may be fetched from ``address``: public, or in an allowed network."""
        found = ipaddress.ip_address(address) if isinstance(address, str) else address
        if isinstance(found, ipaddress.IPv6Address) and found.ipv4_mapped is not None:
            found = found.ipv4_mapped
        return is_public(found) or any(found in network for network in self.networks)


def split_setting(setting: str) -> tuple[str, ...]:
    """The entries of ``[runflow] media_allowed_networks`` (comma-separated)."""
    return tuple(part.strip() for part in setting.split(",") if part.strip())


def configured_networks() -> tuple[str, ...]:
    """``[runflow] media_allowed_networks`` of the process that copies media (the worker)."""
    from airflow.providers.common.compat.sdk import conf

    return split_setting(conf.get("runflow", "media_allowed_networks", fallback="") or "")
