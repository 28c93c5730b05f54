"""What a live binding's action runs with: the profile's endpoints and folder, the command log.

Every client handed out here is bounded by the timeout its caller passes, so no action of a
binding can wait on a live system for longer than the profile says.
"""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import boto3
import httpx
from botocore.client import BaseClient
from botocore.config import Config

from drillbook.commands import CommandLog
from drillbook.profile import Profile
from drillbook.toxiproxy import ToxiproxyClient

VARIABLE = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)\}")
# How long a preflight check may wait on one endpoint.
PREFLIGHT_TIMEOUT_S = 5.0


# Shorter values (a zone, a port) would mask unrelated text and hide nothing worth hiding.
SHORTEST_MASKED = 6


def resolved_variables(path: Path) -> dict[str, str]:
    """value -> "${VAR}" for each ${VAR} the profile file names that this process has."""
    names = set(VARIABLE.findall(path.read_text(encoding="utf-8")))
    return {
        os.environ[name]: f"${{{name}}}"
        for name in sorted(names)
        if len(os.environ.get(name, "")) >= SHORTEST_MASKED
    }


class EndpointMissing(LookupError):
    """An action needs an endpoint the profile does not name."""


@dataclass(frozen=True)
class LiveContext:
    """`endpoints` is the profile's resolved `live.endpoints`; commands run in `folder` (the
    profile's) and are logged to `commands`, which the drill attaches as evidence."""

    profile_path: Path
    endpoints: Mapping[str, Any]
    commands: CommandLog = field(default_factory=CommandLog)
    preflight_timeout_s: float = PREFLIGHT_TIMEOUT_S
    # Each value a ${VAR} of the profile resolved to -> "${VAR}": masked wherever an action's
    # command line, output or error is shown (evidence, errors, dry run, preflight).
    secrets: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, profile: Profile, commands: CommandLog | None = None) -> LiveContext:
        """The context of a loaded live profile."""
        return cls(
            profile.path.resolve(),
            profile.live["endpoints"],
            commands or CommandLog(),
            secrets=resolved_variables(profile.path),
        )

    def mask(self, text: str) -> str:
        """`text` with every resolved ${VAR} value of the profile written as its ${VAR}."""
        for value in sorted(self.secrets, key=len, reverse=True):
            text = text.replace(value, self.secrets[value])
        return text

    @property
    def folder(self) -> Path:
        return self.profile_path.parent

    def endpoint(self, key: str) -> Any:
        """`live.endpoints.<key>`, or an error naming the profile and the key."""
        if key not in self.endpoints:
            raise EndpointMissing(f"{self.profile_path}: no live.endpoints.{key} is set")
        return self.endpoints[key]

    def postgres_dsn(self, zone: str) -> str:
        """The superuser DSN of the zone's node; an unknown zone lists the known ones."""
        zones = self.endpoint("postgres")
        if zone not in zones:
            raise EndpointMissing(
                f"{self.profile_path}: no zone {zone!r} in live.endpoints.postgres "
                f"(zones: {', '.join(zones)})"
            )
        return zones[zone]

    def service_url(self, url: str) -> str:
        """`url` as it is when absolute, else relative to the service's endpoint."""
        if urlsplit(url).scheme:
            return url
        return urljoin(self.endpoint("service").rstrip("/") + "/", url.lstrip("/"))

    def http_client(self, timeout_s: float) -> httpx.Client:
        return httpx.Client(timeout=timeout_s)

    def toxiproxy(self, timeout_s: float) -> ToxiproxyClient:
        return ToxiproxyClient(self.endpoint("toxiproxy"), timeout_s)

    def aws_region(self, region: str | None) -> str:
        return region or self.endpoint("aws")["region"]

    def aws_client(self, service: str, region: str | None, timeout_s: float) -> BaseClient:
        """A boto3 client through `live.endpoints.aws.endpoint_url` when set. It makes one
        attempt: an action that changes a live system is not retried behind the drill's back."""
        config = Config(
            connect_timeout=timeout_s,
            read_timeout=timeout_s,
            retries={"total_max_attempts": 1, "mode": "standard"},
        )
        endpoint_url = self.endpoints.get("aws", {}).get("endpoint_url")
        return boto3.client(
            service,
            region_name=self.aws_region(region),
            endpoint_url=endpoint_url,
            config=config,
        )

    def kubeconfig(self) -> Path:
        """The kubeconfig file, relative paths taken from the profile's folder."""
        return self.folder / Path(self.endpoint("kubernetes")["kubeconfig"]).expanduser()

    def kubernetes_call(
        self, api: str, method: str, args: Mapping[str, Any], timeout_s: float
    ) -> Any:
        """`kubernetes.client.<api>(...).<method>(**args)` in `live.endpoints.kubernetes`'s
        context, bounded by `timeout_s` (the client's `_request_timeout`)."""
        from kubernetes import client, config  # only a profile that binds Kubernetes needs it

        context = self.endpoint("kubernetes").get("context")
        api_client = config.new_client_from_config(
            config_file=str(self.kubeconfig()), context=context
        )
        try:
            api_class = getattr(client, api, None)
            call = getattr(api_class(api_client), method, None) if api_class else None
            if call is None:
                raise LookupError(f"kubernetes.client has no {api}.{method}")
            return call(**args, _request_timeout=timeout_s)
        finally:
            api_client.close()

    def reachable(self, url: str) -> str | None:
        """None when a TCP connection to the URL's host and port opens within the preflight
        timeout, else why not. Nothing is sent: a preflight never acts."""
        parts = urlsplit(self.service_url(url))
        port = parts.port or (443 if parts.scheme in ("https", "rediss") else 80)
        try:
            socket.create_connection((parts.hostname, port), self.preflight_timeout_s).close()
        except OSError as exc:
            return f"{parts.hostname}:{port} unreachable: {exc}"
        return None
