"""The heal every environment with Toxiproxy shares: one proxy back to its clean state."""

from __future__ import annotations

from drillbook.toxiproxy import ToxiproxyClient


def reset_proxy(client: ToxiproxyClient, proxy: str) -> None:
    """The proxy enabled and free of toxics; the other proxies keep their faults."""
    # Toxics first: a proxy enabled while they remain would pass traffic through them.
    for toxic in client.toxics(proxy):
        client.remove_toxic(proxy, toxic.name)
    client.update_proxy(proxy, enabled=True)
