"""Container faults on a real Docker engine, through testcontainers: a paused container is an
outage the probes see and whose RTO they measure, and it is unpaused on teardown and, after a
SIGKILL of the runner, by the next run from the journal."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from drillbook.checks.rto import outage_seen, rto
from drillbook.environments.container_faults import ContainerFaults
from drillbook.faults.journal import JOURNAL_NAME, FaultJournal
from drillbook.faults.recover import recover_journal
from drillbook.stack.containers import ContainerRun, containers_state
from drillbook.waits import pause, wait_until
from drillbook.workload.history import History
from drillbook.workload.probes import HttpProbe

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

NGINX = ["nginx", "-g", "daemon off;"]
PAUSED_S = 3.0
# What the engine says of the container while each fault holds.
FAULTED_STATE = {"pause": "paused", "kill": "exited", "disconnect": "running"}
# The plan's 99% needs windows of 100 probes: 5 s of them at this rate.
PROBE_INTERVAL_S = 0.05


def start_front(run: ContainerRun, journal: FaultJournal) -> str:
    """The run's network and an nginx container on it, held by the journal; its URL once it
    answers."""
    journal.hold("containers", run.run, run.open, run.close, recover=run.recover_op())
    run.start("front", "nginx", command=NGINX)
    url = f"http://{run.address('front')}"
    wait_until("nginx in its container to answer", lambda: (_answers(url), None), 20)
    return url


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1.0).is_success
    except httpx.HTTPError:
        return False


@pytest.fixture
def held(tmp_path) -> Iterator[tuple[ContainerRun, FaultJournal]]:
    run = ContainerRun(progress=lambda _: None)
    journal = FaultJournal(tmp_path / JOURNAL_NAME, progress=lambda _: None)
    try:
        yield run, journal
    finally:
        journal.revert_all()


def probed_fault(
    run: ContainerRun,
    journal: FaultJournal,
    kind: str = "pause",
    *,
    for_s: float,
    then_s: float,
    revert: bool = True,
) -> tuple[History, float, float | None]:
    """nginx probed every PROBE_INTERVAL_S while its container suffers the fault `kind` (a
    method of ContainerFaults) for `for_s`, then reverted (if `revert`) and probed `then_s`
    more: the history, T0 and when the fault was reverted."""
    url = start_front(run, journal)
    history = History()
    probe = HttpProbe(history, url, "/", interval_s=PROBE_INTERVAL_S, timeout_s=1.0)
    probe.start()
    reverted_at = None
    try:
        pause(1.0)
        op = getattr(ContainerFaults(run), kind)("front")
        t0 = time.time()
        journal.inject(op.kind, op.target, op.run, op.revert, recover=op.recover)
        assert containers_state(run.run) == {"front": FAULTED_STATE[kind]}
        pause(for_s)
        if revert:
            journal.revert_target(op.target)
            reverted_at = time.time()
            assert containers_state(run.run) == {"front": "running"}
        pause(then_s)
    finally:
        probe.stop()
    history.freeze()
    return history, t0, reverted_at


def test_a_paused_container_is_an_outage_the_probes_measure_and_teardown_unpauses(held):
    # then_s: a full window of probes after the recovery
    history, t0, unpaused_at = probed_fault(*held, for_s=PAUSED_S, then_s=6.0)

    assert outage_seen(history, t0).passed
    result = rto(history, t0, threshold_s=30)
    assert result.passed, result.explanation
    # A request sent up to one timeout before the unpause waits in the frozen node's backlog
    # and is answered once it thaws; none is answered while it is frozen.
    paused_for = unpaused_at - t0
    assert paused_for - 1.0 <= result.figure <= paused_for + 0.5, result.explanation


def test_the_rto_fails_while_the_container_stays_paused(held):
    history, t0, _ = probed_fault(*held, for_s=3.0, then_s=0.0, revert=False)

    result = rto(history, t0, threshold_s=30)
    assert not result.passed and result.note == "not recovered", result.explanation


@pytest.mark.parametrize("kind", ["kill", "disconnect"])
def test_a_killed_or_disconnected_container_is_an_outage_its_revert_ends(held, kind):
    history, t0, reverted_at = probed_fault(*held, kind, for_s=2.0, then_s=6.0)

    assert outage_seen(history, t0).passed
    result = rto(history, t0, threshold_s=30)
    assert result.passed, result.explanation
    # Refused at once while killed or away, answered once nginx is started or reachable again.
    assert reverted_at - t0 - 1.0 <= result.figure <= reverted_at - t0 + 1.0, result.explanation


KILLED_RUNNER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from drillbook.environments.container_faults import ContainerFaults
    from drillbook.faults.journal import FaultJournal
    from drillbook.stack.containers import ContainerRun
    from tests.integration.test_container_faults import start_front

    run = ContainerRun(progress=lambda _: None)
    journal = FaultJournal(Path(sys.argv[1]), progress=lambda _: None)
    start_front(run, journal)
    op = ContainerFaults(run).pause("front")
    journal.inject(op.kind, op.target, op.run, op.revert, recover=op.recover)
    print(run.run, flush=True)
    time.sleep(120)
    """
)


def test_a_pause_left_by_a_killed_runner_is_undone_by_the_next_run(tmp_path):
    journal_path = tmp_path / JOURNAL_NAME
    runner = subprocess.Popen(
        [sys.executable, "-c", KILLED_RUNNER, str(journal_path)],
        cwd=Path(__file__).parents[2],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        run = runner.stdout.readline().strip()
        assert run, "the runner never paused its container"
        assert containers_state(run) == {"front": "paused"}
    finally:
        runner.kill()
        runner.wait(timeout=10)
    assert containers_state(run) == {"front": "paused"}, "the pause outlives its runner"

    said: list[str] = []
    assert recover_journal(journal_path, said.append) == []
    assert any(
        "#2 pause on container front: container front unpaused (now running)" in line
        for line in said
    ), said
    assert any("#1 containers on" in line and "removed 1 containers (" in line for line in said)
    assert containers_state(run) == {}
