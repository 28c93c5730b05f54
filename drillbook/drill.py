"""What one drill run knows: its history, its phases, its facts, its verdicts and its evidence.

Like Jepsen's nemesis, every fault and every remediation a step carries out is an operation of
the history (process "nemesis"), between the clients' operations: T0 is the start of the first
fault, a fault window ends where the step that restores it ends, and checks read all of it from
the history. A scenario runs in phases: arm (Given: workload and baseline), act (When: faults,
remediations, waits) and observe (Then). The first Then freezes the workload and the history,
so no observation can change what another one sees, whatever the order of the Then lines.

Steps hand each other what they learned as typed facts (`remember`, `recall`): a step that
needs a fact no earlier step provided fails with a sentence naming the step that provides it.
A verdict never goes through `assert`: `verdict` records the check and raises `CheckFailed`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypeVar

from drillbook.capabilities.operation import FAULT, REMEDIATION, Operation
from drillbook.checks import CheckResult
from drillbook.checks.result import FAIL
from drillbook.evidence.allure import Evidence
from drillbook.faults.journal import Fault, FaultJournal
from drillbook.host_load import busy_share, cpu_times
from drillbook.parts import Part
from drillbook.waits import pause
from drillbook.workload import History, Op, Workload
from drillbook.workload.history import short_error

if TYPE_CHECKING:
    from drillbook.draws import Draw
    from drillbook.spot_check import SpotCheck

T = TypeVar("T")
MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
# The history process of the operations done to the environment (Jepsen's nemesis).
NEMESIS = "nemesis"
# A fault ended on purpose by a step, before teardown: the end of its window.
RESTORE = "restore"
# Windows a step measures in (a baseline), recorded as operations of this process.
WINDOW = "window"


class DrillError(Exception):
    """A drill that cannot go on, with a sentence saying why."""


class CheckFailed(DrillError):
    """A check's verdict was fail or not measured."""


class MissingStep(DrillError):
    """A step needs something an earlier step of the scenario should have done."""


class Fact(Protocol):
    """Something a step learned that later steps use; says which step provides it."""

    PROVIDED_BY: ClassVar[str]


F = TypeVar("F", bound=Fact)


@dataclass(frozen=True)
class StepRef:
    """A step of the feature file: where it is and what it says."""

    line: int
    text: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.text}"


@dataclass(frozen=True)
class Verdict:
    """A check result and the step that produced it."""

    step: StepRef
    result: CheckResult

    @property
    def key(self) -> str:
        """How the ledger and the report name the figure: by step, so that two checks of the
        same name in one scenario keep both figures."""
        return f"{self.result.name} (line {self.step.line})"


@dataclass
class Drill:
    """The state of one scenario run, shared by its steps."""

    scenario: str
    feature: Path
    line: int
    tags: set[str]
    out_dir: Path
    started_at: float = field(default_factory=time.time)
    history: History = field(default_factory=History)
    evidence: Evidence = field(default_factory=Evidence)
    workload: Workload | None = None
    journal: FaultJournal | None = None
    verdicts: list[Verdict] = field(default_factory=list)
    failure: str | None = None
    aborted: str | None = None
    frozen_at: float | None = None
    step: StepRef | None = None
    # The commands the environment ran since a moment (epoch seconds), for the evidence.
    commands: Callable[[float], list[Any]] | None = None
    # The seeded random draws made and the spot-check lines written, for the ledger.
    draws: list[dict[str, Any]] = field(default_factory=list)
    spot_checks: list[dict[str, str]] = field(default_factory=list)
    # The scenario's parts (drillbook.parts), the line of the first Given/When step that raised
    # and of the one a signal stopped: which part did not pass the first time.
    parts: list[Part] = field(default_factory=list)
    failed_line: int | None = None
    interrupted_line: int | None = None
    _facts: dict[tuple[type, str], Any] = field(default_factory=dict)
    _observed: dict[str, Any] = field(default_factory=dict)
    _recovered_at: float | None = None

    @property
    def month(self) -> int | None:
        for tag in self.tags:
            if tag.startswith("month_") and tag[6:].isdigit():
                return int(tag[6:])
        return None

    @property
    def results(self) -> list[CheckResult]:
        return [verdict.result for verdict in self.verdicts]

    # -- facts -------------------------------------------------------------------------------

    def remember(self, fact: Fact, key: str = "") -> None:
        self._facts[(type(fact), key)] = fact

    def recall(self, kind: type[F], key: str = "") -> F:
        """The fact an earlier step remembered; fails naming the step that provides it."""
        found = self._facts.get((kind, key))
        if found is None:
            about = f" for {key!r}" if key else ""
            raise MissingStep(
                f"no {kind.__name__}{about}: this step needs "
                f"{kind.PROVIDED_BY.format(key=key)!r} earlier in the scenario"
            )
        return found

    def knows(self, kind: type[Fact], key: str = "") -> bool:
        return (kind, key) in self._facts

    def observed(self, what: str, read: Callable[[], T]) -> T:
        """What the live environment shows of `what`, read by the first step that asks and kept:
        the environment goes on after the freeze (a worker completes a task, a replica copies
        an object), so every Then must see the same reading whatever their order."""
        if what not in self._observed:
            self._observed[what] = read()
        return self._observed[what]

    # -- the workload and the phases ---------------------------------------------------------

    @property
    def frozen(self) -> bool:
        return self.frozen_at is not None

    def run_client(self, client: Any) -> None:
        """Add a probe, writer or sampler to the drill's workload and start it."""
        if self.frozen:
            raise DrillError("the drill is being observed: no client can start now")
        if self.workload is None:
            self.workload = Workload(self.history)
        self.workload.add(client)
        client.start()

    def require_running_workload(self, why: str) -> Workload:
        if self.workload is None or not self.workload.running:
            raise MissingStep(f"no workload is running: start probes or a writer before {why}")
        return self.workload

    def freeze(self) -> None:
        """The observe phase begins: the workload stops and the history takes no more
        operations. Idempotent: only the first Then freezes."""
        if self.frozen:
            return
        self.frozen_at = time.time()
        try:
            if self.workload is not None:
                self.workload.stop()
        finally:
            self.history.freeze()

    # -- operations on the environment -------------------------------------------------------

    def apply(self, operation: Operation[T]) -> T:
        """Carry out a fault or remediation: journaled before it runs when it has a revert,
        recorded in the history with its start and end. An operation that raised is recorded
        as indeterminate ("info"): it may have half happened, and its revert still runs."""
        if self.frozen:
            raise DrillError(f"the drill is being observed: {operation.kind} cannot run now")
        start = time.time()
        value = {"kind": operation.kind, "target": operation.target, **operation.detail}
        try:
            if operation.revert is None:
                result = operation.run()
            else:
                result = self._journal().inject(
                    operation.kind,
                    operation.target,
                    operation.run,
                    operation.revert,
                    recover=operation.recover,
                    role=operation.role,
                    **operation.detail,
                )
        except BaseException as exc:
            self.history.record(
                Op(
                    NEMESIS,
                    operation.role,
                    start,
                    time.time(),
                    "info",
                    value,
                    error=short_error(exc),
                )
            )
            raise
        # a release carries a trace id, which the alerts on it may name
        trace = operation.detail.get("trace_id")
        self.history.record(
            Op(NEMESIS, operation.role, start, time.time(), "ok", value, trace_id=trace)
        )
        return result

    def restore(self, target: str) -> list[Fault]:
        """End the faults on `target` now (their reverts run): the end of their window. A revert
        that raised is recorded as indeterminate, like an operation that raised."""
        if self.frozen:
            raise DrillError(f"the drill is being observed: {target} cannot be restored now")
        faults = [fault for fault in self._journal().active() if fault.target == target]
        if not faults:
            raise MissingStep(f"no fault on {target} to restore: inject one earlier")
        value = {"kind": "restore", "target": target, "reverted": [f.kind for f in faults]}
        start = time.time()
        try:
            self._journal().revert(faults)
        except BaseException as exc:
            error = short_error(exc)
            self.history.record(
                Op(NEMESIS, RESTORE, start, time.time(), "info", value, error=error)
            )
            raise
        self.history.record(Op(NEMESIS, RESTORE, start, time.time(), "ok", value))
        return faults

    def window(self, name: str, seconds: float) -> None:
        """Let the workload record for `seconds`, as a named window of the history, with how
        busy the harness's host was meanwhile (drillbook.host_load)."""
        self.require_running_workload(f"the {name}")
        start, ticks = time.time(), cpu_times()
        pause(seconds)
        load = {"host_cpu_busy": busy_share(ticks, cpu_times())}
        self.history.record(Op(WINDOW, name, start, time.time(), "ok", load))

    def _journal(self) -> FaultJournal:
        if self.journal is None:
            raise DrillError("this drill has no fault journal: faults run only in a scenario")
        return self.journal

    # -- what the history says about the faults ----------------------------------------------

    def operations(self, role: str | None = None, target: str | None = None) -> list[Op]:
        """The nemesis operations, in order, optionally of one role or one target."""
        return [
            op
            for op in self.history.ops(process=NEMESIS)
            if (role is None or op.f == role)
            and (target is None or op.value.get("target") == target)
        ]

    @property
    def t0(self) -> float | None:
        """The start of the first fault; None when the scenario injected none."""
        return self.t0_of()

    def t0_of(self, target: str | None = None) -> float | None:
        """The start of the first fault (on `target`, or on anything)."""
        faults = self.operations(FAULT, target)
        return faults[0].start if faults else None

    def require_t0(self) -> float:
        t0 = self.t0
        if t0 is None:
            raise MissingStep(
                "no fault was injected in this scenario, so there is no T0: add a fault step"
            )
        return t0

    def restored_at(self, target: str | None = None) -> float | None:
        """The end of the last restore (of `target`'s faults, or of any)."""
        restores = self.operations(RESTORE, target)
        return restores[-1].end if restores else None

    def repaired_at(self) -> float | None:
        """The end of the last restore or remediation since the first fault: when the drill's
        own steps last put something right, the recovery of a fault no client sees."""
        t0 = self.t0
        if t0 is None:
            return None
        ends = [
            op.end
            for op in self.history.ops(process=NEMESIS)
            if op.f in (RESTORE, REMEDIATION) and op.outcome == "ok" and op.start >= t0
        ]
        return max(ends, default=None)

    def require_restored(self, target: str, step: str) -> float:
        at = self.restored_at(target)
        if at is None:
            raise MissingStep(f"{target} was never restored: add {step!r} before this step")
        return at

    def fault_window(self, target: str | None = None) -> tuple[float, float]:
        """While the faults (on `target`, or on anything) were certainly in place: from the
        end of the first fault's operation to the start of their last restore, or to the
        freeze if none restored them. A request begun while a fault was being injected or
        reverted may have met either state, so it belongs to no fault window."""
        faults = self.operations(FAULT, target)
        if not faults:
            on = f" on {target}" if target else ""
            raise MissingStep(f"no fault{on} was injected in this scenario: add a fault step")
        restores = self.operations(RESTORE, target)
        end = restores[-1].start if restores else (self.frozen_at or time.time())
        return faults[0].end, end

    def remediations(self, kind: str | None = None) -> list[Op]:
        ops = self.operations(REMEDIATION)
        return [op for op in ops if kind is None or op.value["kind"] == kind]

    def windows(self, name: str) -> list[Op]:
        return [op for op in self.history.ops(process=WINDOW) if op.f == name]

    # -- recovery and verdicts ---------------------------------------------------------------

    def recovered(self, at: float) -> None:
        """A wait or a check saw the drill recovered at `at` (the end of the RTO); the
        recovery instant is the latest such moment, T1 is when the evidence is written."""
        if self.t0 is not None and at >= self.t0:
            self._recovered_at = max(self._recovered_at or at, at)

    @property
    def recovered_at(self) -> float | None:
        return self._recovered_at

    def drew(self, draw: Draw) -> None:
        """A seeded random draw, for the ledger and the report."""
        self.draws.append(draw.as_dict())
        self.evidence.attach_json(f"random draw: {draw.what}", draw.as_dict())

    def spot_checked(self, line: SpotCheck) -> None:
        """A line of the plan's spot-check record (4.3), whatever the verdict that follows."""
        self.spot_checks.append(line.as_record())
        self.evidence.attach_json(f"spot-check record (plan 4.3): {line.item}", line.as_record())

    def verdict(self, result: CheckResult) -> CheckResult:
        """Record a check with the step that produced it; raise CheckFailed unless it passed,
        naming figure, threshold and evidence."""
        step = self.step or StepRef(self.line, self.scenario)
        self.verdicts.append(Verdict(step, result))
        self.evidence.attach_json(f"check: {result.name}", result.as_dict())
        recovered = result.details.get("recovered_at") if result.passed else None
        if isinstance(recovered, float):
            self.recovered(recovered)
        if not result.passed:
            verdict = "failed" if result.verdict == FAIL else result.verdict
            raise CheckFailed(
                f"{result.name} check {verdict}: {result.explanation} (measured "
                f"{result.shown}, threshold {result.threshold:g} {result.unit}; evidence: "
                f"{self.out_dir})"
            )
        return result
