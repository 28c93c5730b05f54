"""The network's named links: cut, slowed, silenced and restored (Toxiproxy's vocabulary)."""

from __future__ import annotations

from typing import Any, Protocol

from drillbook.capabilities.operation import Operation


class Network(Protocol):
    def cut(self, link: str) -> Operation[None]:
        """Connections refused and open ones dropped."""
        ...

    def latency(self, link: str, ms: int, jitter_ms: int = 0) -> Operation[None]:
        """Each chunk delayed `ms`, give or take up to `jitter_ms`."""
        ...

    def silence(self, link: str) -> Operation[None]:
        """Connections stay open, nothing comes back."""
        ...

    def region_links(self, region: str) -> list[str]:
        """The links that connect `region` to its clients and to the other regions: cutting
        them all makes it unavailable, as a region outage does."""
        ...

    def state(self, link: str) -> dict[str, Any]:
        """The link as the network reports it (enabled, toxics), for the evidence."""
        ...

    def target(self, link: str) -> str:
        """The target name its faults are journaled under, so a restore finds them."""
        ...
