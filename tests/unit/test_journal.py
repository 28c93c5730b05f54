import json

import pytest

from drillbook.faults.journal import FaultJournal, FaultRevertError


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
