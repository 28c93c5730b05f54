"""A small typed client for Toxiproxy's HTTP API (checked against server v2.5.0).

Every request carries a timeout. Toxiproxy 2.5 updates a proxy with POST /proxies/{name}
(PATCH answers 405 there), and POST /reset re-enables every proxy and removes every toxic.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx


class ToxiproxyError(RuntimeError):
    """The server answered with an unexpected status."""

    def __init__(self, method: str, url: str, status: int, body: str) -> None:
        super().__init__(f"toxiproxy {method} {url} answered {status}: {body.strip()[:500]}")
        self.method = method
        self.url = url
        self.status = status
        self.body = body


class ToxiproxyUnreachable(ToxiproxyError):
    """No answer from the server (refused, timed out, reset)."""

    def __init__(self, method: str, url: str, cause: Exception) -> None:
        RuntimeError.__init__(
            self,
            f"toxiproxy server unreachable at {url} ({method}): {type(cause).__name__}: {cause}",
        )
        self.method = method
        self.url = url
        self.status = 0
        self.body = ""


@dataclass(frozen=True)
class Toxic:
    name: str
    type: str
    stream: str
    toxicity: float
    attributes: dict[str, Any]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Toxic:
        return cls(
            name=data["name"],
            type=data["type"],
            stream=data["stream"],
            toxicity=float(data["toxicity"]),
            attributes=dict(data.get("attributes") or {}),
        )


@dataclass(frozen=True)
class Proxy:
    name: str
    listen: str
    upstream: str
    enabled: bool
    toxics: tuple[Toxic, ...]

    @property
    def listen_port(self) -> int:
        return int(self.listen.rsplit(":", 1)[1])

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Proxy:
        return cls(
            name=data["name"],
            listen=data["listen"],
            upstream=data["upstream"],
            enabled=bool(data["enabled"]),
            toxics=tuple(Toxic.from_json(t) for t in data.get("toxics") or ()),
        )


class ToxiproxyClient:
    def __init__(self, base_url: str, timeout_s: float = 2.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout_s)

    def close(self) -> None:
        self._http.close()

    def version(self) -> str:
        return self._request("GET", "/version").text.strip()

    def proxies(self) -> dict[str, Proxy]:
        data = self._request("GET", "/proxies").json()
        return {name: Proxy.from_json(p) for name, p in data.items()}

    def proxy(self, name: str) -> Proxy:
        return Proxy.from_json(self._request("GET", f"/proxies/{name}").json())

    def create_proxy(self, name: str, listen: str, upstream: str, enabled: bool = True) -> Proxy:
        body = {"name": name, "listen": listen, "upstream": upstream, "enabled": enabled}
        return Proxy.from_json(self._request("POST", "/proxies", json=body).json())

    def update_proxy(
        self, name: str, *, upstream: str | None = None, enabled: bool | None = None
    ) -> Proxy:
        body: dict[str, Any] = {}
        if upstream is not None:
            body["upstream"] = upstream
        if enabled is not None:
            body["enabled"] = enabled
        return Proxy.from_json(self._request("POST", f"/proxies/{name}", json=body).json())

    def delete_proxy(self, name: str) -> None:
        self._request("DELETE", f"/proxies/{name}")

    def add_toxic(
        self,
        proxy: str,
        name: str,
        type: str,
        attributes: dict[str, Any],
        stream: str = "downstream",
        toxicity: float = 1.0,
    ) -> Toxic:
        body = {
            "name": name,
            "type": type,
            "stream": stream,
            "toxicity": toxicity,
            "attributes": attributes,
        }
        return Toxic.from_json(self._request("POST", f"/proxies/{proxy}/toxics", json=body).json())

    def remove_toxic(self, proxy: str, name: str) -> None:
        self._request("DELETE", f"/proxies/{proxy}/toxics/{name}")

    def toxics(self, proxy: str) -> list[Toxic]:
        return [Toxic.from_json(t) for t in self._request("GET", f"/proxies/{proxy}/toxics").json()]

    def reset(self) -> None:
        """Enable every proxy and remove every toxic."""
        self._request("POST", "/reset")

    def reset_proxy(self, name: str) -> None:
        """One proxy enabled and free of toxics; the other proxies keep their faults. The heal
        every environment with Toxiproxy shares."""
        # Toxics first: a proxy enabled while they remain would pass traffic through them.
        for toxic in self.toxics(name):
            self.remove_toxic(name, toxic.name)
        self.update_proxy(name, enabled=True)

    def _request(self, method: str, path: str, json: Any = None) -> httpx.Response:
        url = self.base_url + path
        try:
            response = self._http.request(method, path, json=json)
        except httpx.TransportError as exc:
            raise ToxiproxyUnreachable(method, url, exc) from exc
        if response.status_code >= 300:
            raise ToxiproxyError(method, url, response.status_code, response.text)
        return response
