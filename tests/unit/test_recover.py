from __future__ import annotations

import json
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from drillbook.faults import recover
from drillbook.faults.journal import FaultJournal, run_id
from drillbook.faults.recover import (
    UnknownRecoverOp,
    processes_of,
    recover_journal,
    run_recover,
    stop_local_stack,
)
from drillbook.stack.ports import free_port
from drillbook.stack.toxiproxy_server import ToxiproxyServer, find_toxiproxy_server
from drillbook.waits import wait_until

DEAD_RUN = f"{socket.gethostname()}:99999999:1"  # a pid above any pid_max: long gone


def nothing() -> None:
    pass


def journal_of(path: Path, run: str) -> FaultJournal:
    """A journal as the run `run` wrote it."""
    journal = FaultJournal(path, progress=lambda _: None)
    journal.run = run
    return journal


def lines_of(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture
def ops(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """A "test" recover op that records its calls, and a "broken" one that raises."""
    calls: list[str] = []

    def record(params: dict) -> str:
        calls.append(params["name"])
        return f"did {params['name']}"

    def broken(params: dict) -> str:
        raise OSError(f"{params['name']} is gone")

    monkeypatch.setitem(recover.OPS, "test", record)
    monkeypatch.setitem(recover.OPS, "broken", broken)
    return calls


def test_an_unknown_op_is_named():
    with pytest.raises(UnknownRecoverOp, match=r"unknown recover op 'teleport' \(known: .*"):
        run_recover({"op": "teleport"})


def test_a_dead_runs_faults_are_reverted_newest_first_and_journaled(tmp_path, ops):
    path = tmp_path / "j.jsonl"
    dead = journal_of(path, DEAD_RUN)
    dead.inject("toxic", "a", nothing, nothing, recover={"op": "test", "name": "a"})
    dead.inject("toxic", "b", nothing, nothing, recover={"op": "test", "name": "b"})
    said: list[str] = []
    assert recover_journal(path, said.append) == []
    assert ops == ["b", "a"]
    assert said[0] == (
        f"found 2 faults left by run {DEAD_RUN} (pid 99999999, no longer running: killed "
        "before it could revert them): reverting them before anything else"
    )
    assert said[1:] == [
        "  reverted #2 toxic on b: did b",
        "  reverted #1 toxic on a: did a",
        "reverted all 2 entries left by earlier runs",
    ]
    reverts = lines_of(path)[2:]
    assert [(x["event"], x["target"], x["run"]) for x in reverts] == [
        ("revert", "b", DEAD_RUN),
        ("revert", "a", DEAD_RUN),
    ]
    assert all(x["recovered_by"] == run_id() and x["revert_error"] is None for x in reverts)
    # Nothing is left: the next start is silent.
    said.clear()
    assert recover_journal(path, said.append) == []
    assert said == [] and ops == ["b", "a"]


def test_a_failing_op_is_reported_and_the_others_still_run(tmp_path, ops):
    path = tmp_path / "j.jsonl"
    dead = journal_of(path, DEAD_RUN)
    dead.inject("toxic", "a", nothing, nothing, recover={"op": "test", "name": "a"})
    dead.inject("toxic", "b", nothing, nothing, recover={"op": "broken", "name": "b"})
    dead.inject("toxic", "c", nothing, nothing, recover={"op": "nope"})
    said: list[str] = []
    failures = recover_journal(path, said.append)
    assert ops == ["a"]
    assert failures == [
        f"run {DEAD_RUN} #3 toxic on c: UnknownRecoverOp: unknown recover op 'nope' "
        f"(known: {', '.join(sorted(recover.OPS))})",
        f"run {DEAD_RUN} #2 toxic on b: OSError: b is gone",
    ]
    assert "  FAILED to revert #2 toxic on b: OSError: b is gone" in said
    assert said[-1].startswith("could not revert 2 of 3 entries left by earlier runs")
    errors = {x["target"]: x["revert_error"] for x in lines_of(path) if x["event"] == "revert"}
    assert errors == {"a": None, "b": "OSError: b is gone", "c": failures[0].split(": ", 1)[1]}


def test_live_runs_and_runs_that_ended_are_left_alone(tmp_path, ops):
    path = tmp_path / "j.jsonl"
    ended = journal_of(path, DEAD_RUN)
    ended.inject("toxic", "ended", nothing, nothing, recover={"op": "test", "name": "ended"})
    ended.revert_all()
    live = FaultJournal(path, progress=lambda _: None)  # this very run
    live.inject("toxic", "mine", nothing, nothing, recover={"op": "test", "name": "mine"})
    said: list[str] = []
    before = path.read_text()
    assert recover_journal(path, said.append) == []
    assert said == [] and ops == [] and path.read_text() == before
    assert recover_journal(tmp_path / "absent.jsonl", said.append) == []
    assert said == []


def test_a_run_of_another_host_is_reported_but_not_touched(tmp_path, ops):
    path = tmp_path / "j.jsonl"
    elsewhere = journal_of(path, "other-host:123:456")
    elsewhere.inject("toxic", "x", nothing, nothing, recover={"op": "test", "name": "x"})
    said: list[str] = []
    assert recover_journal(path, said.append) == []
    assert ops == []
    assert said == [
        "1 fault left by run other-host:123:456 not reverted: cannot tell whether that run is "
        "still going (another host?)"
    ]


def test_faults_without_an_op_go_with_the_stack_they_were_injected_into(tmp_path, ops):
    path = tmp_path / "j.jsonl"
    dead = journal_of(path, DEAD_RUN)
    stack = {"op": "test", "name": "stack"}
    dead.hold("local stack", "/tmp/drillbook-run-x", nothing, nothing, recover=stack)
    dead.inject("kill -9", "postgres az-a", nothing, nothing)
    said: list[str] = []
    assert recover_journal(path, said.append) == []
    assert ops == ["stack"]
    assert said[0].startswith(f"found 1 fault and the local stack left by run {DEAD_RUN}")
    assert said[1] == (
        "  reverted #2 kill -9 on postgres az-a: no recover op of its own; undone when the "
        "local stack is stopped"
    )
    assert [x["event"] for x in lines_of(path)][2:] == ["revert", "release"]

    alone = tmp_path / "alone.jsonl"
    journal_of(alone, DEAD_RUN).inject("kill -9", "postgres az-a", nothing, nothing)
    [failure] = recover_journal(alone, said.append)
    assert failure.endswith(
        "NoRecoverOp: no recover op was journaled, so it cannot be reverted; check by hand"
    )


@pytest.fixture
def run_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix=recover.RUN_DIR_PREFIX))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def spawn(argv: list[str], log: Path | None) -> subprocess.Popen:
    """A detached process, as the stack starts its components, logging to `log`."""
    if log is not None:
        log.parent.mkdir(parents=True, exist_ok=True)
    with open(log or "/dev/null", "ab") as out:
        return subprocess.Popen(argv, stdout=out, stderr=out, start_new_session=True)


def test_stopping_a_stack_stops_what_writes_in_its_folder_and_only_that(run_dir, monkeypatch):
    monkeypatch.setattr(recover, "STOP_GRACE_S", 0.5)
    logs = run_dir / "logs"
    polite = spawn(["sleep", "300"], logs / "polite.log")
    # Ignores SIGTERM, like a component that hangs on shutdown: SIGKILL after the grace period.
    stubborn = spawn(["sh", "-c", "trap '' TERM; sleep 300 & wait"], logs / "stubborn.log")
    # Names the folder on its command line but does not write there: not the stack's.
    bystander = spawn(["sh", "-c", f"sleep 300 # {run_dir}"], None)
    try:
        # the stubborn shell's own `sleep` child must exist before the stop: 3 processes
        wait_until(
            "the stack's three processes",
            lambda: (len(processes_of(run_dir)) == 3, processes_of(run_dir)),
            timeout_s=5,
            interval_s=0.02,
        )
        assert set(processes_of(run_dir)) >= {polite.pid, stubborn.pid}
        done = stop_local_stack({"run_dir": str(run_dir)})
        assert [polite.wait(timeout=5), stubborn.wait(timeout=5)] == [-15, -9]
        assert processes_of(run_dir) == {}
        assert not run_dir.exists()
        assert bystander.poll() is None
        assert done.startswith("stopped 3 processes (sh, sleep), 2 with SIGKILL, removed ")
    finally:
        for proc in (polite, stubborn, bystander):
            proc.kill()
            proc.wait(timeout=5)


def test_stopping_refuses_a_folder_that_is_not_a_run_folder(tmp_path):
    with pytest.raises(ValueError, match="refusing to stop processes of /tmp: not a local stack"):
        stop_local_stack({"run_dir": "/tmp"})
    with pytest.raises(ValueError, match="refusing"):
        stop_local_stack({"run_dir": "drillbook-run-relative"})


@pytest.mark.integration
def test_toxiproxy_reset_enables_the_proxy_and_removes_its_toxics_only(tmp_path):
    try:
        binary = find_toxiproxy_server()
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
    server = ToxiproxyServer(
        binary=binary, port=free_port(), log_path=tmp_path / "toxiproxy.log", ready_timeout_s=10
    )
    server.spawn()
    try:
        server.wait_ready()
        client = server.client
        for name in ("pg-az-a", "redis"):
            client.create_proxy(name, f"127.0.0.1:{free_port()}", "127.0.0.1:1")
            client.add_toxic(name, "slow", "latency", {"latency": 1000})
            client.update_proxy(name, enabled=False)
        done = run_recover({"op": "toxiproxy-reset", "url": server.url, "proxy": "pg-az-a"})
        assert done == f"proxy pg-az-a at {server.url} enabled, toxics removed"
        reset, other = client.proxy("pg-az-a"), client.proxy("redis")
        assert reset.enabled and reset.toxics == ()
        assert not other.enabled and len(other.toxics) == 1
    finally:
        server.stop()
