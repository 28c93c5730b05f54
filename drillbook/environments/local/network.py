"""The local network: a Toxiproxy proxy in front of each dependency is a named link."""

from __future__ import annotations

from dataclasses import asdict
from functools import partial
from typing import Any

from drillbook.capabilities.operation import Operation, fault
from drillbook.toxiproxy import ToxiproxyClient


class LocalNetwork:
    def __init__(self, toxiproxy: ToxiproxyClient) -> None:
        self.toxiproxy = toxiproxy

    def target(self, link: str) -> str:
        return f"proxy {link}"

    def cut(self, link: str) -> Operation[None]:
        run = partial(self.toxiproxy.update_proxy, link, enabled=False)
        return self._fault("cut", link, run)

    def latency(self, link: str, ms: int) -> Operation[None]:
        run = partial(self.toxiproxy.add_toxic, link, "latency", "latency", {"latency": ms})
        return self._fault(f"latency {ms} ms", link, run)

    def silence(self, link: str) -> Operation[None]:
        # Toxiproxy's timeout toxic with timeout 0 holds connections open forever.
        run = partial(self.toxiproxy.add_toxic, link, "silence", "timeout", {"timeout": 0})
        return self._fault("silence", link, run)

    def state(self, link: str) -> dict[str, Any]:
        return asdict(self.toxiproxy.proxy(link))

    def _fault(self, kind: str, link: str, run: Any) -> Operation[None]:
        self._require(link)
        return fault(
            kind,
            self.target(link),
            run,
            partial(self.toxiproxy.reset_proxy, link),
            recover={"op": "toxiproxy-reset", "url": self.toxiproxy.base_url, "proxy": link},
        )

    def _require(self, link: str) -> None:
        known = self.toxiproxy.proxies()
        if link not in known:
            raise LookupError(f"no network link {link!r}; the links are {sorted(known)}")
