"""The replication canary's exposition: the last sample's lag and backlog, and no lag before a
canary has arrived."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from drillbook.stack.crr_exporter import LastSample, exposition
from drillbook.workload.history import History, Op

BUCKET = "glancy-crr-canary"


def sampled(*values: dict) -> History:
    history = History()
    for i, value in enumerate(values):
        history.record(Op(f"crr:{BUCKET}", "sample", 100.0 + i, 100.1 + i, "ok", value))
    return history


def samples(text: str) -> dict[str, float]:
    return {
        s.name: s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.labels == {"bucket": BUCKET}
    }


def test_the_last_sample_is_exported():
    history = sampled({"lag_s": 0.4, "pending": 0}, {"lag_s": 61.2, "pending": 61})
    assert samples(exposition(history, BUCKET)) == {
        "s3_crr_lag_seconds": 61.2,
        "s3_crr_pending_objects": 61,
    }


def test_no_lag_is_exported_before_a_canary_arrived():
    assert samples(exposition(sampled({"lag_s": None, "pending": 3}), BUCKET)) == {
        "s3_crr_pending_objects": 3
    }
    assert samples(exposition(History(), BUCKET)) == {}


def test_the_exporter_keeps_only_the_newest_sample():
    history = LastSample()
    for i in range(3):
        history.record(Op(f"crr:{BUCKET}", "sample", 100.0 + i, 100.1 + i, "ok", {"i": i}))
    assert [op.value for op in history.ops()] == [{"i": 2}]
