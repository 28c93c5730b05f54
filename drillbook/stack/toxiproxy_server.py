"""The Toxiproxy server process and where to find its binary."""

from __future__ import annotations

from pathlib import Path

from drillbook.stack.process import LocalProcess, ManagedProcess
from drillbook.stack.tools import find_tool
from drillbook.toxiproxy import ToxiproxyClient


def find_toxiproxy_server(configured: str | None = None) -> str:
    return find_tool("toxiproxy-server", configured)


class ToxiproxyServer(LocalProcess):
    def __init__(self, *, binary: str, port: int, log_path: Path, ready_timeout_s: float) -> None:
        self.port = port
        self.log_path = log_path
        self.ready_timeout_s = ready_timeout_s
        argv = [binary, "-host", "127.0.0.1", "-port", str(port)]
        self._process = ManagedProcess("toxiproxy", argv, log_path)
        self.client = ToxiproxyClient(self.url)

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    def wait_ready(self) -> None:
        self._process.wait_ready(self.client.version, self.ready_timeout_s)

    def stop(self) -> None:
        super().stop()
        self.client.close()
