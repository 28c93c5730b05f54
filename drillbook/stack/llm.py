"""The LLM stand-in (`python -m reference.llm_standin`): Doubao's chat-completion API cannot
run here, so a small server that answers in its shape stands in for it, behind a Toxiproxy
proxy like every other dependency."""

from __future__ import annotations

import sys
from pathlib import Path

from drillbook.stack.process import LocalProcess, ManagedProcess

REPO_ROOT = Path(__file__).resolve().parents[2]


class LlmStandIn(LocalProcess):
    def __init__(self, *, port: int, log_path: Path, ready_timeout_s: float) -> None:
        self.port = port
        self.ready_timeout_s = ready_timeout_s
        self.proxy_port: int | None = None
        argv = [sys.executable, "-m", "reference.llm_standin", "--port", str(port)]
        self._process = ManagedProcess("llm stand-in", argv, log_path, cwd=REPO_ROOT)

    @property
    def url(self) -> str:
        """Through the node's Toxiproxy proxy (direct if it has none)."""
        return f"http://127.0.0.1:{self.proxy_port or self.port}"

    def wait_ready(self) -> None:
        self.wait_healthz()
