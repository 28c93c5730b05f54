"""The drill core: steps speak to capabilities only, faults and remediations are operations
of the history, the first Then freezes the drill, and verdicts never go through assert."""

from __future__ import annotations

import ast
import json
import random
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import pytest

from drillbook.capabilities.operation import fault, remediation
from drillbook.drill import NEMESIS, Drill, DrillError, MissingStep
from drillbook.faults.journal import FaultJournal
from drillbook.workload import History, Op, Workload
from drillbook.workload.history import HistoryFrozen
from steps import DatabaseInUse, measure
from tests.unit.test_assertion_steps import PROFILE, T0, probes, writes

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.filterwarnings("ignore:.*not added to the Allure report")


def test_no_step_or_fixture_knows_the_local_stack():
    found = [
        f"{path.relative_to(ROOT)}:{number}"
        for folder in ("steps", "fixtures")
        for path in sorted((ROOT / folder).glob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if "LocalStack" in line or "drillbook.stack" in line
    ]
    assert not found, f"steps and fixtures must use capabilities only: {found}"


def test_no_verdict_or_control_flow_goes_through_assert():
    """`python -O` strips assert statements: none may carry a verdict or a step's logic."""
    found = []
    for folder in ("drillbook", "steps", "fixtures", "reference"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            found += [
                f"{path.relative_to(ROOT)}:{node.lineno}"
                for node in ast.walk(tree)
                if isinstance(node, ast.Assert)
            ]
    assert not found, f"assert statements outside the tests: {found}"


VERDICTS_SCRIPT = """
import json, sys
from pathlib import Path
from types import SimpleNamespace
from drillbook.drill import CheckFailed
from steps import DatabaseInUse, measure
from tests.unit.test_assertion_steps import PROFILE, probes, writes
from tests.drills import make_drill

T0 = 1_700_000_000.0
out = []
def run(name, call):
    try:
        call()
        out.append([name, "pass"])
    except CheckFailed as exc:
        out.append([name, "fail: " + str(exc).split(":")[0]])
tmp = Path(sys.argv[1])
def outage():
    return make_drill(probes(4), tmp, t0=T0)
run("rto 4 s > 3 s", lambda: measure.rto_at_most(outage(), PROFILE, 3, "seconds"))
run("rto 4 s <= 30 min", lambda: measure.rto_at_most(outage(), PROFILE, 30, "minutes"))
run("sla", lambda: measure.sla_at_least(outage(), 99.0))
history, survivors = writes({30})
drill = make_drill(history, tmp, t0=T0)
drill.remember(DatabaseInUse("az-a"))
drill.remember(measure.Survivors(frozenset(survivors)))
run("lost writes", lambda: measure.no_write_lost(drill, None))
print(json.dumps(out))
"""


def test_the_verdicts_are_the_same_under_python_dash_o(tmp_path):
    def verdicts(*flags: str) -> list:
        done = subprocess.run(
            [sys.executable, *flags, "-c", VERDICTS_SCRIPT, str(tmp_path)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        return json.loads(done.stdout.strip().splitlines()[-1])

    plain, optimized = verdicts(), verdicts("-O")
    assert plain == optimized
    assert [v for _name, v in plain] == [
        "fail: RTO check failed",
        "pass",
        "fail: SLA check failed",
        "fail: lost writes check failed",
    ]


def cross_az_drill(tmp_path: Path) -> Drill:
    """The February switch's history: probes with a 4 s outage, a writer, a lag sample."""
    history = probes(4)
    for op in writes(set())[0].ops():
        history.record(op)
    lag = {"standby_replay_delay_s": 0.01, "standby_receive_replay_bytes": 0}
    history.record(Op("lag:az-b", "sample", T0 - 0.5, T0 - 0.49, "ok", value=lag))
    history.record(Op(NEMESIS, "fault", T0, T0, "ok", {"kind": "kill -9", "target": "pg"}))
    drill = Drill("s", Path("x.feature"), 1, set(), tmp_path, history=history)
    drill.remember(DatabaseInUse("az-b"))
    drill.remember(measure.Survivors(frozenset(range(1, 51))))
    return drill


THEN_LINES = [
    ("the probes saw the outage", lambda d: measure.probes_saw_outage(d)),
    ("the RTO is at most 30 minutes", lambda d: measure.rto_at_most(d, PROFILE, 30, "minutes")),
    ("the RPO is at most 5 minutes", lambda d: measure.rpo_at_most(d, None, 5, "minutes")),
    ("the RPO by replication lag", lambda d: measure.rpo_by_lag(d, 5, "minutes")),
    ("no acknowledged write is lost", lambda d: measure.no_write_lost(d, None)),
    ("the SLA", lambda d: measure.sla_at_least(d, 80.0)),
    ("P95 of /history", lambda d: measure.p95_during_drill(d, "/history", 2.5, "seconds")),
]


def test_shuffling_the_then_lines_gives_the_same_figures(tmp_path):
    def figures(order: list) -> dict:
        drill = cross_az_drill(tmp_path)
        drill.freeze()
        for _text, step in order:
            step(drill)
        return {r.name: (r.figure, r.verdict, r.explanation) for r in drill.results}

    expected = figures(THEN_LINES)
    shuffler = random.Random(7)
    for _ in range(5):
        order = list(THEN_LINES)
        shuffler.shuffle(order)
        assert figures(order) == expected


class Worker:
    """A client that records one op when started and one when stopped."""

    def __init__(self, history: History) -> None:
        self.history, self.running = history, False

    def start(self) -> None:
        self.running = True

    def stop(self, timeout: float = 5.0) -> None:
        self.history.record(Op("probe:/x", "GET", 1.0, 1.1, "ok"))
        self.running = False


def test_freezing_stops_the_workload_and_the_history_takes_nothing_more(tmp_path):
    drill = Drill("s", Path("x.feature"), 1, set(), tmp_path)
    drill.workload = Workload(drill.history)
    drill.workload.add(Worker(drill.history))
    drill.freeze()
    assert len(drill.history) == 1 and not drill.workload.running
    with pytest.raises(HistoryFrozen):
        drill.history.record(Op("probe:/x", "GET", 2.0, 2.1, "ok"))
    with pytest.raises(DrillError, match="being observed"):
        drill.apply(remediation("promote", "pg", lambda: None))


def test_faults_and_remediations_are_operations_of_the_history(tmp_path):
    drill = Drill("s", Path("x.feature"), 1, set(), tmp_path)
    drill.journal = FaultJournal(tmp_path / "journal.jsonl", progress=lambda _l: None)
    reverted = []
    assert drill.t0 is None
    drill.apply(fault("cut", "proxy llm", lambda: None, lambda: reverted.append("llm")))
    drill.apply(remediation("replay", "queue", lambda: {"replayed": 3}))
    drill.restore("proxy llm")
    kinds = [(op.f, op.value["kind"]) for op in drill.operations()]
    assert kinds == [("fault", "cut"), ("remediation", "replay"), ("restore", "restore")]
    assert drill.t0 == drill.operations("fault")[0].start
    # the fault certainly in place: from its injection's end to its restore's start
    [injected], [restore] = drill.operations("fault"), drill.operations("restore")
    assert drill.fault_window() == (injected.end, restore.start)
    assert reverted == ["llm"]
    lines = [json.loads(line) for line in (tmp_path / "journal.jsonl").read_text().splitlines()]
    assert [(line["event"], line["role"]) for line in lines] == [
        ("inject", "fault"),
        ("revert", "fault"),
    ]
    with pytest.raises(MissingStep, match="no fault on proxy s3 to restore"):
        drill.restore("proxy s3")


def test_the_repair_is_the_last_restore_or_remediation_after_the_fault(tmp_path):
    drill = Drill("s", Path("x.feature"), 1, set(), tmp_path)
    drill.journal = FaultJournal(tmp_path / "journal.jsonl", progress=lambda _l: None)
    drill.apply(remediation("promote", "pg", lambda: None))  # before any fault: no repair
    assert drill.repaired_at() is None
    release = "4bf92f3577b34da6a3ce929d0e0e4736"
    drill.apply(fault("release", "config", lambda: None, lambda: None, trace_id=release))
    assert drill.repaired_at() is None
    drill.apply(remediation("rotate", "config", lambda: None))
    drill.restore("config")
    [restore] = drill.operations("restore")
    assert drill.repaired_at() == restore.end
    # an operation that carried a trace id is kept with it, which an alert may name
    assert drill.operations("fault")[0].trace_id == release


def test_a_resolution_after_the_repair_needs_a_repair_after_the_fault(tmp_path):
    from steps.alerts import alert_resolved_after_repair

    drill = Drill("s", Path("x.feature"), 1, set(), tmp_path)
    drill.journal = FaultJournal(tmp_path / "journal.jsonl", progress=lambda _l: None)
    drill.apply(fault("release", "config", lambda: None, lambda: None))
    with pytest.raises(MissingStep, match="nothing was repaired after the fault"):
        alert_resolved_after_repair(drill, None, "ConfigCheckFailed", 60, "seconds")


def test_an_operation_that_raised_is_indeterminate_and_still_reverted(tmp_path):
    drill = Drill("s", Path("x.feature"), 1, set(), tmp_path)
    drill.journal = FaultJournal(tmp_path / "journal.jsonl", progress=lambda _l: None)
    healed = []

    def half_done() -> None:
        raise RuntimeError("kill failed half-way")

    with pytest.raises(RuntimeError):
        drill.apply(fault("kill -9", "pg", half_done, lambda: healed.append(True)))
    [op] = drill.operations()
    assert op.outcome == "info" and "kill failed half-way" in op.error
    drill.journal.revert_all()
    assert healed == [True]


@dataclass(frozen=True)
class Target:
    PROVIDED_BY: ClassVar[str] = "Given the restore target time is marked"
    at: float


def test_a_missing_fact_names_the_step_that_provides_it(tmp_path):
    drill = Drill("s", Path("x.feature"), 1, set(), tmp_path)
    with pytest.raises(MissingStep, match="needs 'Given the restore target time is marked'"):
        drill.recall(Target)
    drill.remember(Target(1.0))
    assert drill.recall(Target).at == 1.0
    with pytest.raises(MissingStep, match="there is no T0"):
        drill.require_t0()
    with pytest.raises(MissingStep, match="no workload is running"):
        drill.window("baseline", 0.0)


def test_the_database_in_use_follows_a_switch(tmp_path):
    drill = Drill("s", Path("x.feature"), 1, set(), tmp_path)
    from steps import database_in_use

    assert database_in_use(drill, "az-a") == "az-a"
    drill.remember(DatabaseInUse("az-b"))
    assert database_in_use(drill, "az-a") == "az-b"
