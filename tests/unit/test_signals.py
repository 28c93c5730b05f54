"""The plan's signals as CloudWatch data: what each sample becomes, and what is left out."""

from __future__ import annotations

from pathlib import Path

import pytest

from drillbook.drill import Drill
from drillbook.drill_record import publish_signals
from drillbook.evidence.signals import NAMESPACE, PROBE_PERIOD_S, MetricDatum, signal_data
from drillbook.platform.cloud import CloudCallError
from drillbook.workload.history import History, Op

T = 1_700_000_000.0  # a multiple of the probe period


def lag(at: float, streaming: bool, replay_lag: float | None, outcome: str = "ok") -> Op:
    value = {"streaming": streaming, "primary_replay_lag_s": replay_lag}
    return Op("lag:az-b", "sample", at - 0.01, at, outcome, value)


def probe(start: float, latency: float, outcome: str = "ok") -> Op:
    return Op("probe:lookup", "get", start, start + latency, outcome)


def by_name(history: History) -> dict[str, list[tuple[float, float]]]:
    found: dict[str, list[tuple[float, float]]] = {}
    for datum in signal_data(history, "2_pitr", "switch"):
        found.setdefault(datum.name, []).append((datum.at, datum.value))
    return found


def test_replication_lag_is_the_primarys_replay_lag_while_the_standby_streams():
    history = History(
        [
            lag(T + 1, True, 0.25),
            lag(T + 2, True, None),  # caught up and idle: no lag
            lag(T + 3, False, None),  # no walsender: no figure
            lag(T + 4, True, 9.0, outcome="fail"),  # a side did not answer
        ]
    )
    assert by_name(history)["ReplicationLag"] == [(T + 1, 0.25), (T + 2, 0.0)]


def test_every_datum_names_the_drill_and_what_it_measured():
    history = History([lag(T + 1, True, 0.5)])
    [datum] = signal_data(history, "2_pitr", "switch")
    assert datum.dimensions == (("Drill", "2_pitr"), ("Scenario", "switch"), ("Standby", "az-b"))
    entry = datum.as_cloudwatch()
    assert entry["Unit"] == "Seconds" and entry["Timestamp"].timestamp() == T + 1
    assert entry["Dimensions"] == [
        {"Name": "Drill", "Value": "2_pitr"},
        {"Name": "Scenario", "Value": "switch"},
        {"Name": "Standby", "Value": "az-b"},
    ]


def test_crr_lag_comes_from_the_canary_samples_that_measured_one():
    history = History(
        [
            Op("crr:glancy-exports", "sample", T, T + 1, "ok", {"lag_s": 61.5, "pending": 3}),
            Op("crr:glancy-exports", "sample", T + 1, T + 2, "ok", {"lag_s": None}),
        ]
    )
    assert by_name(history)["CrrLag"] == [(T + 1, 61.5)]


def test_probe_error_rate_and_p95_per_period_of_invocation():
    first = [probe(T + i * 0.1, 0.01 * (i + 1)) for i in range(19)] + [
        probe(T + 1.95, 5.0, outcome="info")  # a timeout: unsuccessful, and no latency figure
    ]
    second = [probe(T + PROBE_PERIOD_S + 1, 0.05, outcome="fail")]
    signals = by_name(History(first + second))
    end_1, end_2 = T + PROBE_PERIOD_S, T + 2 * PROBE_PERIOD_S
    assert signals["ProbeErrorRate"] == [(end_1, 5.0), (end_2, 100.0)]
    # nearest rank 95 of 19 latencies is the 19th; the failed period has no P95
    assert signals["ProbeLatencyP95"] == [(end_1, pytest.approx(0.19, abs=1e-6))]


def test_nothing_measured_is_no_data():
    assert signal_data(History(), "2_pitr", "switch") == []


class StubCloud:
    metrics_namespace = NAMESPACE

    def __init__(self, refusal: CloudCallError | None = None) -> None:
        self.refusal = refusal
        self.published: list[MetricDatum] = []

    def publish_metrics(self, data: list[MetricDatum]) -> str:
        if self.refusal is not None:
            raise self.refusal
        self.published.extend(data)
        return f"{len(data)} data points in namespace {NAMESPACE} at http://moto"


def attached(drill: Drill, name: str) -> dict[str, str]:
    [item] = [item for item in drill.evidence.items if item["name"] == name]
    return item


def test_a_drills_signals_are_published_and_summed_up_in_its_evidence(tmp_path):
    history = History([lag(T + 1, True, 0.25), lag(T + 2, True, 1.5)])
    drill = Drill("s", Path("features/2_pitr.feature"), 1, set(), tmp_path, history=history)
    cloud = StubCloud()
    assert publish_signals(drill, cloud) is None
    assert [d.value for d in cloud.published] == [0.25, 1.5]
    assert {d.dimensions for d in cloud.published} == {
        (("Drill", "2_pitr"), ("Scenario", "s"), ("Standby", "az-b"))
    }
    assert attached(drill, "CloudWatch signals")


def test_signals_that_could_not_be_published_are_an_issue_naming_the_refusal(tmp_path):
    history = History([lag(T + 1, True, 0.25)])
    drill = Drill("s", Path("features/2_pitr.feature"), 1, set(), tmp_path, history=history)
    refusal = CloudCallError("cloudwatch", "put_metric_data", "1 data points", "http://x", "down")
    unpublished = publish_signals(drill, StubCloud(refusal))
    assert unpublished == (
        "the drill's signals were not published to CloudWatch: "
        "cloudwatch put_metric_data on 1 data points at http://x: down"
    )
    assert attached(drill, "CloudWatch signals")
