"""The Toxiproxy server process and where to find its binary."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from drillbook.faults.toxiproxy import ToxiproxyClient
from drillbook.stack.process import LocalProcess, ManagedProcess

REPO_ROOT = Path(__file__).resolve().parents[2]
ENV_VAR = "DRILLBOOK_TOXIPROXY_SERVER"


def find_toxiproxy_server(configured: str | None = None) -> str:
    """The configured path, else $DRILLBOOK_TOXIPROXY_SERVER, else `toxiproxy-server` on PATH,
    else <repo>/.tools/bin/toxiproxy-server."""
    candidates = [
        ("settings", configured),
        (ENV_VAR, os.environ.get(ENV_VAR)),
        ("PATH", shutil.which("toxiproxy-server")),
        ("repo tools", str(REPO_ROOT / ".tools" / "bin" / "toxiproxy-server")),
    ]
    for _, path in candidates:
        if path and os.access(path, os.X_OK):
            return path
    looked = "; ".join(f"{where}: {path or 'unset'}" for where, path in candidates)
    raise FileNotFoundError(f"no executable toxiproxy-server found (looked at {looked})")


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

    def spawn(self) -> None:
        self._process.start()

    def wait_ready(self) -> None:
        self._process.wait_ready(self.client.version, self.ready_timeout_s)

    def stop(self) -> None:
        self._process.stop(timeout_s=self.ready_timeout_s)
        self.client.close()
