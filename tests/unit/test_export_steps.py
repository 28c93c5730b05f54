"""Every assertion step of the export chain fails, naming figure, threshold and evidence, when
what it reads breaks the plan's threshold (and passes when it does not)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from drillbook.capabilities.exports import REPLAY
from drillbook.capabilities.operation import fault, remediation
from drillbook.checks.exports import ExportRecord
from drillbook.drill import CheckFailed, Drill, MissingStep
from drillbook.faults.journal import FaultJournal
from drillbook.objects import ObjectState
from drillbook.workload import History, Op
from steps import exports
from tests.drills import make_drill

T0 = 1_700_000_000.0

pytestmark = pytest.mark.filterwarnings("ignore:.*not added to the Allure report")


def drill_with(tmp_path: Path, *latencies: float) -> Drill:
    """A drill whose history holds a successful POST /exports, task t<n>, per latency."""
    history = History()
    for n, latency in enumerate(latencies):
        start = T0 + n / 10
        history.record(Op(exports.EXPORTS, "POST /exports", start, start + latency, "ok", f"t{n}"))
    return make_drill(history, tmp_path, t0=T0)


def record(task: str, completed_at: float | None = T0 + 5, **kwargs) -> ExportRecord:
    fields = {"completing_attempts": 1, "versions": 1, "sha256": f"h-{task}"} | kwargs
    return ExportRecord(task, completed_at, object_key=f"exports/u/{task}.jsonl", **fields)


def queue(records: list[ExportRecord], artifacts: dict | None = None) -> SimpleNamespace:
    """The export queue as the steps read it: its records and each region's artifacts."""
    by_task = {r.task_id: r for r in records}
    return SimpleNamespace(records=lambda: by_task, artifacts=lambda region: artifacts[region])


def buckets(by_region: dict[str, dict[str, ObjectState]]) -> SimpleNamespace:
    """Object storage whose latest objects in each region are `by_region`'s."""
    return SimpleNamespace(latest_objects=lambda region, bucket, prefix: by_region[region])


def test_answered_within_step_fails_on_a_slow_post(tmp_path):
    with pytest.raises(CheckFailed, match=r"max latency /exports check fail.*threshold 5 s") as err:
        exports.answered_in_time(drill_with(tmp_path, 0.02, 6.5), "/exports", 5, "seconds")
    assert "measured 6.50 s" in str(err.value) and str(tmp_path) in str(err.value)
    exports.answered_in_time(drill_with(tmp_path, 0.02, 0.3), "/exports", 5, "seconds")


def test_exactly_once_step_fails_on_a_lost_or_twice_written_task(tmp_path):
    lost = queue([record("t0"), record("t1", completed_at=None)])
    with pytest.raises(CheckFailed, match=r"exports lost or done twice check fail.*1 lost"):
        exports.completed_once(drill_with(tmp_path, 0.01, 0.01), lost)
    twice = queue([record("t0"), record("t1", versions=2)])
    with pytest.raises(CheckFailed, match=r"1 completed or written more than once"):
        exports.completed_once(drill_with(tmp_path, 0.01, 0.01), twice)
    exports.completed_once(drill_with(tmp_path, 0.01, 0.01), queue([record("t0"), record("t1")]))


def replayed_drill(tmp_path: Path, replayed: tuple[str, ...] = ("t0", "t1")) -> Drill:
    """A drill whose replay (a remediation of its history) re-enqueued `replayed`."""
    drill = drill_with(tmp_path, 0.01)
    drill.history.record(
        Op("nemesis", "remediation", T0, T0 + 0.1, "ok", {"kind": REPLAY, "target": "q"})
    )
    drill.remember(exports.Replayed(replayed))
    return drill


def test_replay_time_step_fails_when_the_replay_is_late_or_unfinished(tmp_path):
    late = queue([record("t0"), record("t1", completed_at=T0 + 16 * 60)])
    with pytest.raises(CheckFailed, match=r"replay completed check fail.*threshold 900 s"):
        exports.replay_time(replayed_drill(tmp_path), late, 15, "minutes")
    unfinished = queue([record("t0"), record("t1", completed_at=None)])
    with pytest.raises(CheckFailed, match=r"1 of 2 replayed exports never completed"):
        exports.replay_time(replayed_drill(tmp_path), unfinished, 15, "minutes")
    with pytest.raises(
        CheckFailed, match=r"replay completed check not measured: .*no failed or interrupted task"
    ):
        exports.replay_time(replayed_drill(tmp_path, ()), unfinished, 15, "minutes")
    drill = replayed_drill(tmp_path)
    exports.replay_time(drill, queue([record("t0"), record("t1")]), 15, "minutes")
    assert drill.results[-1].figure == pytest.approx(5)  # from the replay's start


def test_replay_time_step_needs_a_replay(tmp_path):
    with pytest.raises(MissingStep, match="no replay"):
        exports.replay_time(drill_with(tmp_path, 0.01), queue([]), 15, "minutes")


def test_the_worker_kill_and_restart_are_the_fault_and_its_end(tmp_path):
    drill = make_drill(History(), tmp_path)
    drill.journal = FaultJournal(tmp_path / "journal.jsonl", progress=lambda _line: None)
    restarted = []
    queue_ = SimpleNamespace(
        kill_worker_mid_task=lambda timeout_s: fault(
            "kill -9",
            "export worker",
            lambda: {"pid": 7, "task": "t3", "stream_entry": "1-0", "attempt_started_at": T0},
            lambda: restarted.append(True),
        ),
        replay=lambda: remediation(REPLAY, "export queue", lambda: {"replayed": ["t3"]}),
    )
    with pytest.raises(MissingStep, match="no fault on export worker"):
        exports.worker_restarted(drill)
    exports.kill_worker(drill, queue_)
    exports.worker_restarted(drill)
    exports.replay(drill, queue_)
    assert restarted == [True]
    assert drill.recall(exports.KilledTask).task == "t3"
    assert drill.recall(exports.Replayed).tasks == ("t3",)
    assert [op.f for op in drill.operations()] == ["fault", "restore", "remediation"]
    assert drill.restored_at("export worker") is not None


def test_the_done_wait_sees_every_acknowledged_task_completed(tmp_path):
    drill = drill_with(tmp_path, 0.01, 0.01)
    waiting = exports.exports_done(drill, queue([record("t0"), record("t1", completed_at=None)]))
    assert waiting() == (False, "1 of 2 done")
    done = exports.exports_done(drill, queue([record("t0"), record("t1", completed_at=T0 + 7)]))
    assert done() == (True, "2 of 2 done")
    assert drill.recovered_at == T0 + 7


def test_replication_step_fails_on_a_missing_or_different_copy(tmp_path):
    source = {"a": ObjectState("v1", "h1", "COMPLETED"), "b": ObjectState("v1", "h2", "COMPLETED")}
    missing = buckets({"src": source, "dst": {"a": ObjectState("v1", "h1", "REPLICA")}})
    with pytest.raises(
        CheckFailed, match=r"replicated to dst check fail.*1 of 2 objects.*b: missing"
    ):
        exports.replicated_with_same_content(drill_with(tmp_path), missing, "bucket", "src", "dst")
    different = {"a": ObjectState("v1", "h1", "REPLICA"), "b": ObjectState("v1", "x", "REPLICA")}
    with pytest.raises(CheckFailed, match=r"content differs"):
        exports.replicated_with_same_content(
            drill_with(tmp_path), buckets({"src": source, "dst": different}), "bucket", "src", "dst"
        )
    same = {key: ObjectState("v1", s.sha256, "REPLICA") for key, s in source.items()}
    exports.replicated_with_same_content(
        drill_with(tmp_path), buckets({"src": source, "dst": same}), "bucket", "src", "dst"
    )


def test_artifact_step_fails_when_the_dr_copy_differs_from_the_recorded_hash(tmp_path):
    records = [record("t0"), record("t1")]
    stored = {r.object_key: ObjectState("v1", r.sha256, "REPLICA") for r in records}
    stored[records[1].object_key] = ObjectState("v1", "corrupted", "REPLICA")
    with pytest.raises(
        CheckFailed,
        match=r"export artifacts wrong in dr check fail.*task t1: .* SHA-256 corrupted",
    ):
        exports.artifacts_in_region(
            drill_with(tmp_path, 0.01, 0.01), queue(records, {"dr": stored}), "dr"
        )
    stored[records[1].object_key] = ObjectState("v1", records[1].sha256, "REPLICA")
    exports.artifacts_in_region(
        drill_with(tmp_path, 0.01, 0.01), queue(records, {"dr": stored}), "dr"
    )


def test_the_then_steps_read_the_live_queue_and_buckets_once(tmp_path):
    """The worker completes a task and a replica copies an object after the freeze: every Then
    sees the first reading, whatever their order."""
    reads = []
    records = {"t0": record("t0"), "t1": record("t1", completed_at=None)}
    stored = {r.object_key: ObjectState("v1", r.sha256, "REPLICA") for r in records.values()}
    queue_ = SimpleNamespace(
        records=lambda: reads.append("records") or dict(records),
        artifacts=lambda region: reads.append(f"artifacts {region}") or dict(stored),
    )
    source = {"a": ObjectState("v1", "h1", "COMPLETED")}
    dst: dict[str, ObjectState] = {}
    storage = SimpleNamespace(
        latest_objects=lambda region, bucket, prefix: (
            reads.append(region) or dict(source if region == "src" else dst)
        )
    )
    drill = drill_with(tmp_path, 0.01, 0.01)
    with pytest.raises(CheckFailed, match="1 lost"):
        exports.completed_once(drill, queue_)
    records["t1"] = record("t1")  # completed after the first reading
    with pytest.raises(CheckFailed, match="1 lost"):
        exports.completed_once(drill, queue_)
    exports.artifacts_in_region(drill, queue_, "dr")
    with pytest.raises(CheckFailed, match="replicated to dst check fail"):
        exports.replicated_with_same_content(drill, storage, "bucket", "src", "dst")
    dst["a"] = ObjectState("v1", "h1", "REPLICA")  # replicated after the first reading
    with pytest.raises(CheckFailed, match="replicated to dst check fail"):
        exports.replicated_with_same_content(drill, storage, "bucket", "src", "dst")
    assert reads == ["records", "artifacts dr", "src", "dst"]
