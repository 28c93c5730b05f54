"""Container faults on a real Docker engine, through testcontainers: a paused, killed or
disconnected container is an outage the probes see and whose RTO they measure; its revert
ends it, and a pause left by a SIGKILLed runner is undone by the next run from the journal."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest

from drillbook.checks.rto import outage_seen, rto
from drillbook.environments.container_faults import ContainerFaults
from drillbook.faults.journal import JOURNAL_NAME, FaultJournal
from drillbook.faults.recover import recover_journal
from drillbook.stack.containers import ContainerRun, containers_state
from drillbook.waits import pause
from drillbook.workload.history import History
from drillbook.workload.probes import HttpProbe
from tests.containers import start_front

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

# Not a whole number of probe timeouts, which would line the thaw up with the end of a
# blocked request.
PAUSED_S = 3.3
# The plan's 99% needs windows of 100 probes: 5 s of them at this rate.
PROBE_INTERVAL_S = 0.05
PROBE_TIMEOUT_S = 1.0


@pytest.fixture
def held(tmp_path) -> Iterator[tuple[ContainerRun, FaultJournal]]:
    run = ContainerRun(progress=lambda _: None)
    journal = FaultJournal(tmp_path / JOURNAL_NAME, progress=lambda _: None)
    try:
        yield run, journal
    finally:
        journal.revert_all()


class Probed(NamedTuple):
    history: History
    t0: float
    reverting_at: float  # when the revert was asked for
    reverted_at: float  # when it had returned


def probed_fault(run: ContainerRun, journal: FaultJournal, kind: str, for_s: float) -> Probed:
    """nginx probed every PROBE_INTERVAL_S while its container suffers the fault `kind` (a
    method of ContainerFaults) for `for_s`, then for a full window of probes after the
    fault's revert."""
    url = start_front(run, journal)
    history = History()
    probe = HttpProbe(history, url, "/", interval_s=PROBE_INTERVAL_S, timeout_s=PROBE_TIMEOUT_S)
    probe.start()
    try:
        pause(1.0)
        op = getattr(ContainerFaults(run), kind)("front")
        t0 = time.time()
        journal.inject(op.kind, op.target, op.run, op.revert, recover=op.recover)
        assert_faulted(run, kind)
        pause(for_s)
        reverting_at = time.time()
        journal.revert_target(op.target)
        reverted_at = time.time()
        assert containers_state(run.run) == {"front": "running"}
        assert run.address("front")
        pause(6.0)
    finally:
        probe.stop()
    history.freeze()
    return Probed(history, t0, reverting_at, reverted_at)


def assert_faulted(run: ContainerRun, kind: str) -> None:
    """What the engine says of the container while the fault holds."""
    if kind == "disconnect":
        with pytest.raises(LookupError, match="not on the run's network"):
            run.address("front")
    else:
        assert containers_state(run.run) == {"front": {"pause": "paused", "kill": "exited"}[kind]}


@pytest.mark.parametrize("kind", ["pause", "kill", "disconnect"])
def test_a_container_fault_is_an_outage_the_probes_measure_and_its_revert_ends(held, kind):
    probed = probed_fault(*held, kind, PAUSED_S)
    history, t0 = probed.history, probed.t0

    assert outage_seen(history, t0).passed
    result = rto(history, t0, threshold_s=30)
    assert result.passed, result.explanation
    # The recovery is seen within a probe timeout of the revert: a request sent up to one
    # timeout before a thaw waits in the frozen node's backlog and is answered once it thaws;
    # while the address is gone (killed, disconnected) each probe waits out its connect
    # timeout, so the first to reach it may start up to a timeout and an interval after.
    earliest = probed.reverting_at - t0 - PROBE_TIMEOUT_S - 0.1
    latest = probed.reverted_at - t0 + PROBE_TIMEOUT_S + PROBE_INTERVAL_S + 0.2
    assert earliest <= result.figure <= latest, result.explanation
    # and the plan's threshold is held to: an outage longer than it fails
    assert not rto(history, t0, threshold_s=result.figure - 0.5).passed


KILLED_RUNNER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from drillbook.environments.container_faults import ContainerFaults
    from drillbook.faults.journal import FaultJournal
    from drillbook.stack.containers import ContainerRun
    from tests.containers import start_front

    run = ContainerRun(progress=lambda _: None)
    journal = FaultJournal(Path(sys.argv[1]), progress=lambda _: None)
    start_front(run, journal)
    op = ContainerFaults(run).pause("front")
    journal.inject(op.kind, op.target, op.run, op.revert, recover=op.recover)
    print("RUN", run.run, flush=True)
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
    said: list[str] = []
    run = left_behind = None
    try:
        line = runner.stdout.readline()  # bounded by the test's timeout
        assert line.startswith("RUN "), f"the runner never paused its container: {line!r}"
        run = line.split()[1]
        assert containers_state(run) == {"front": "paused"}
    finally:
        runner.kill()
        runner.wait(timeout=10)
        if run:
            left_behind = containers_state(run)
        # whatever failed above, the next run's recovery removes what the runner left
        failures = recover_journal(journal_path, said.append)
    assert left_behind == {"front": "paused"}, "the pause outlives its runner"
    assert containers_state(run) == {}
    assert failures == [], said
    assert any(
        "#2 pause on container front: container front unpaused (now running)" in line
        for line in said
    ), said
    assert any("removed 1 containers (front) and 1 networks" in line for line in said), said
