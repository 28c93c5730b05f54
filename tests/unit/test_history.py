from __future__ import annotations

import threading

import pytest

from drillbook.workload import History, Op
from drillbook.workload.history import short_error


def op(start: float, process: str = "probe:/lookup", outcome: str = "ok", **kwargs) -> Op:
    return Op(process, "GET /lookup", start, start + 0.01, outcome, **kwargs)


def test_latency_is_end_minus_start():
    assert Op("writer", "write", 10.0, 10.25, "ok", value=3).latency == pytest.approx(0.25)


def test_an_unknown_outcome_is_rejected():
    with pytest.raises(ValueError, match="outcome"):
        Op("writer", "write", 1.0, 2.0, "maybe")


def test_ops_are_sorted_by_start_and_filtered_by_process_or_prefix():
    history = History()
    for start, process in [(3.0, "writer"), (1.0, "probe:/history"), (2.0, "probe:/lookup")]:
        history.record(op(start, process))
    assert [o.start for o in history.ops()] == [1.0, 2.0, 3.0]
    assert [o.process for o in history.ops(prefix="probe:")] == ["probe:/history", "probe:/lookup"]
    assert [o.start for o in history.ops(process="writer")] == [3.0]
    assert history.ops(process="writer", prefix="probe:") == []


def test_concurrent_records_are_all_kept():
    history = History()

    def record_many(process: str) -> None:
        for i in range(2000):
            history.record(op(float(i), process))

    threads = [threading.Thread(target=record_many, args=(f"p{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert len(history) == 8000
    assert len(history.ops(process="p3")) == 2000


def test_jsonl_round_trip_keeps_every_field(tmp_path):
    history = History()
    history.record(op(1.5, status=200))
    history.record(Op("writer", "write", 2.0, 2.5, "info", value=7, error="timeout"))
    path = history.to_jsonl(tmp_path / "history.jsonl")
    assert path.read_text().count("\n") == 2
    assert History.from_jsonl(path).ops() == history.ops()


def test_a_malformed_jsonl_line_is_reported_with_file_and_line(tmp_path):
    path = tmp_path / "history.jsonl"
    path.write_text('{"process": "writer"}\n')
    with pytest.raises(ValueError, match=r"history\.jsonl:1"):
        History.from_jsonl(path)


def test_short_error_keeps_type_and_first_line_only():
    error = short_error(OSError("connection refused\nIs the server running?"))
    assert error == "OSError: connection refused"
    assert len(short_error(RuntimeError("x" * 500))) == 200
