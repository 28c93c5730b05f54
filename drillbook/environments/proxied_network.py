"""The network as Toxiproxy proxies: each named link of the drills is a proxy.

The local stack puts a proxy in front of every dependency under the link's own name; a live
environment names its proxies as its operators chose, so a mapping turns a link's name (as the
features use it) into its proxy's. Faults are journaled under the link's name ("proxy LINK"), so
a restore written in a feature finds them in either environment.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict
from functools import partial
from typing import Any

from drillbook.capabilities.operation import Operation, fault
from drillbook.toxiproxy import ToxiproxyClient


class ProxiedNetwork:
    def __init__(
        self,
        toxiproxy: ToxiproxyClient,
        links: Mapping[str, str] | None = None,
        regions: Mapping[str, list[str]] | None = None,
    ) -> None:
        self.toxiproxy = toxiproxy
        # link name -> proxy name; a link not in it is the proxy of the same name
        self.links = dict(links or {})
        # region -> the links that connect it to its clients and to the other regions
        self.regions = {region: list(links) for region, links in (regions or {}).items()}

    def region_links(self, region: str) -> list[str]:
        if region not in self.regions:
            known = ", ".join(self.regions) or "none"
            raise LookupError(f"no links of region {region!r} are known; regions: {known}")
        return list(self.regions[region])

    def proxy_of(self, link: str) -> str:
        return self.links.get(link, link)

    def target(self, link: str) -> str:
        return f"proxy {link}"

    def cut(self, link: str) -> Operation[None]:
        run = partial(self.toxiproxy.update_proxy, self.proxy_of(link), enabled=False)
        return self._fault("cut", link, run)

    def latency(self, link: str, ms: int, jitter_ms: int = 0) -> Operation[None]:
        proxy = self.proxy_of(link)
        attributes = {"latency": ms, "jitter": jitter_ms}
        run = partial(self.toxiproxy.add_toxic, proxy, "latency", "latency", attributes)
        jitter = f" ± {jitter_ms} ms" if jitter_ms else ""
        return self._fault(f"latency {ms} ms{jitter}", link, run)

    def silence(self, link: str) -> Operation[None]:
        # Toxiproxy's timeout toxic with timeout 0 holds connections open forever.
        proxy = self.proxy_of(link)
        run = partial(self.toxiproxy.add_toxic, proxy, "silence", "timeout", {"timeout": 0})
        return self._fault("silence", link, run)

    def state(self, link: str) -> dict[str, Any]:
        return asdict(self.toxiproxy.proxy(self.proxy_of(link)))

    def _fault(self, kind: str, link: str, run: Callable[[], Any]) -> Operation[None]:
        proxy = self._require(link)
        return fault(
            kind,
            self.target(link),
            run,
            partial(self.toxiproxy.reset_proxy, proxy),
            recover={"op": "toxiproxy-reset", "url": self.toxiproxy.base_url, "proxy": proxy},
        )

    def _require(self, link: str) -> str:
        """The link's proxy, which the server must have; an unknown link lists the known."""
        proxy = self.proxy_of(link)
        known = self.toxiproxy.proxies()
        if proxy not in known:
            link_of = {mapped: name for name, mapped in self.links.items()}
            links = sorted(link_of.get(name, name) for name in known)
            raise LookupError(f"no network link {link!r}; the links are {links}")
        return proxy
