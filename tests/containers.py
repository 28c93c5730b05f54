"""A container for the tests of the container faults: nginx on a run's network, held by a
fault journal (so the run's containers go with the hold, also after a SIGKILL)."""

from __future__ import annotations

import httpx

from drillbook.faults.journal import FaultJournal
from drillbook.stack.containers import ContainerRun
from drillbook.waits import wait_until

NGINX = ["nginx", "-g", "daemon off;"]


def start_front(run: ContainerRun, journal: FaultJournal) -> str:
    """The run's network and an nginx container named "front" on it, held by the journal; its
    URL once it answers."""
    journal.hold("containers", run.run, run.open, run.close, recover=run.recover_op())
    run.start("front", "nginx", command=NGINX)
    url = f"http://{run.address('front')}"
    wait_until(
        "nginx in its container to answer", lambda: (_answers(url), None), 20, progress=_quiet
    )
    return url


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1.0).is_success
    except httpx.HTTPError:
        return False


def _quiet(_: str) -> None:
    pass
