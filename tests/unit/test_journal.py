import json
import os
import socket

import pytest

from drillbook.faults.journal import (
    FaultJournal,
    FaultRevertError,
    never_closed,
    process_started,
    read_lines,
    run_alive,
    run_id,
)


def test_fault_is_written_before_it_is_injected_and_reverted_lifo(tmp_path):
    path = tmp_path / "journal.jsonl"
    journal = FaultJournal(path, progress=lambda _: None)
    events = []

    def inject(name):
        # the journal line exists when the action runs
        assert json.loads(path.read_text().splitlines()[-1])["target"] == name
        events.append(f"inject {name}")

    journal.inject("toxic", "a", lambda: inject("a"), lambda: events.append("heal a"))
    journal.inject("toxic", "b", lambda: inject("b"), lambda: events.append("heal b"))
    journal.revert_all()
    assert events == ["inject a", "inject b", "heal b", "heal a"]
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [(x["event"], x["target"]) for x in lines] == [
        ("inject", "a"),
        ("inject", "b"),
        ("revert", "b"),
        ("revert", "a"),
    ]
    assert journal.active() == []


def test_a_fault_whose_injection_raised_is_still_reverted(tmp_path):
    journal = FaultJournal(tmp_path / "j.jsonl", progress=lambda _: None)
    healed = []

    def boom():
        raise RuntimeError("half done")

    with pytest.raises(RuntimeError):
        journal.inject("kill", "x", boom, lambda: healed.append("x"))
    journal.revert_all()
    assert healed == ["x"]


def test_a_failing_revert_does_not_stop_the_others_and_is_reported(tmp_path):
    journal = FaultJournal(tmp_path / "j.jsonl", progress=lambda _: None)
    healed = []

    def bad_heal():
        raise OSError("proxy gone")

    journal.inject("toxic", "a", lambda: None, lambda: healed.append("a"))
    journal.inject("toxic", "b", lambda: None, bad_heal)
    with pytest.raises(FaultRevertError, match=r"#2 toxic on b: OSError: proxy gone"):
        journal.revert_all()
    assert healed == ["a"]
    assert journal.active() == []


def test_lines_name_their_run_and_journal_and_carry_the_recover_op(tmp_path):
    path = tmp_path / "j.jsonl"
    first, second = FaultJournal(path, lambda _: None), FaultJournal(path, lambda _: None)
    recover = {"op": "toxiproxy-reset", "url": "http://127.0.0.1:1", "proxy": "pg-az-a"}
    first.inject("toxic", "a", lambda: None, lambda: None, recover=recover, pid=7)
    second.inject("toxic", "b", lambda: None, lambda: None)
    a, b = [json.loads(line) for line in path.read_text().splitlines()]
    assert a["run"] == b["run"] == run_id()
    assert a["run"] == f"{socket.gethostname()}:{os.getpid()}:{process_started(os.getpid())}"
    assert (a["journal"], a["id"]) != (b["journal"], b["id"])  # both are fault #1
    assert a["recover"] == recover and a["detail"] == {"pid": 7}
    assert b["recover"] is None


def test_a_held_resource_is_released_after_the_faults_injected_into_it(tmp_path):
    path = tmp_path / "j.jsonl"
    journal = FaultJournal(path, progress=lambda _: None)
    events = []
    assert journal.hold("stack", "/run", lambda: "up", lambda: events.append("stop")) == "up"
    journal.inject("kill", "x", lambda: None, lambda: events.append("heal"))
    journal.revert_all()
    assert events == ["heal", "stop"]
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [(x["event"], x["resource"]) for x in lines] == [
        ("hold", True),
        ("inject", False),
        ("revert", False),
        ("release", True),
    ]
    assert never_closed(lines) == []
    assert never_closed(lines[:2]) == lines[:2]


def test_a_run_is_alive_while_its_process_is_the_same_one():
    host = socket.gethostname()
    started = process_started(os.getpid())
    assert run_alive(run_id()) is True
    assert run_alive(f"{host}:{os.getpid()}:{started + 1}") is False  # the pid was reused
    assert run_alive(f"{host}:99999999:1") is False  # above any pid_max
    assert run_alive(f"{host}-elsewhere:{os.getpid()}:{started}") is None
    assert run_alive("garbage") is None


def test_lines_without_a_run_or_not_json_are_left_out(tmp_path):
    path = tmp_path / "j.jsonl"
    path.write_text(
        '{"event": "inject", "id": 1, "kind": "old", "target": "t"}\n'
        "not json\n"
        '{"event": "inject", "run": "h:1:1", "journal": 1, "id": 1}\n'
        "[1]\n"
    )
    lines, unreadable = read_lines(path)
    assert unreadable == [2, 4]
    assert never_closed(lines) == [lines[1]]


def test_revert_target_ends_only_the_faults_on_that_target(tmp_path):
    journal = FaultJournal(tmp_path / "j.jsonl", progress=lambda _: None)
    healed = []
    journal.inject("cut", "proxy redis", lambda: None, lambda: healed.append("redis"))
    journal.inject("cut", "proxy pg-az-a", lambda: None, lambda: healed.append("pg"))
    [fault] = journal.revert_target("proxy redis")
    assert fault.target == "proxy redis" and fault.reverted_at is not None
    assert healed == ["redis"]
    assert [f.target for f in journal.active()] == ["proxy pg-az-a"]
    assert journal.revert_target("proxy redis") == []
