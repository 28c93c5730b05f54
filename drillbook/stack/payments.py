"""The payment provider stand-in (`python -m reference.payment_standin`): no third-party payment
API can be reached here, so a fake one charges at once, calls the service back as a provider
does, and keeps the records the service reconciles against."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from drillbook.stack.process import LocalProcess, ManagedProcess
from drillbook.stack.tools import REPO_ROOT

# The variable the stand-in reads its signing secret from (never its command line).
SECRET_VARIABLE = "PAYMENT_CALLBACK_SECRET"


class PaymentStandIn(LocalProcess):
    def __init__(
        self, *, port: int, callback_url: str, secret: str, log_path: Path, ready_timeout_s: float
    ) -> None:
        self.port = port
        self.ready_timeout_s = ready_timeout_s
        argv = [sys.executable, "-m", "reference.payment_standin", "--port", str(port)]
        self._process = ManagedProcess(
            "payment stand-in",
            [*argv, "--callback", callback_url],
            log_path,
            cwd=REPO_ROOT,
            env={**os.environ, SECRET_VARIABLE: secret},
        )

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    def wait_ready(self) -> None:
        self.wait_healthz()
