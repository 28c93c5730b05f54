"""Smoke run of benchmarks/measurement_accuracy.py: one short outage, JSON shape and error."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from drillbook.stack.toxiproxy_server import find_toxiproxy_server

BENCHMARK = Path(__file__).resolve().parents[2] / "benchmarks" / "measurement_accuracy.py"


@pytest.mark.integration
def test_one_short_outage_is_measured_within_two_probe_intervals() -> None:
    try:
        find_toxiproxy_server()
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
    done = subprocess.run(
        [sys.executable, str(BENCHMARK), "--outages", "1", "--repeat", "1"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    interval = report["probe_interval_s"]
    assert report["benchmark"] == "measurement_accuracy"
    assert interval == 0.1
    assert report["target"] == {"median_abs_max_s": interval, "max_abs_max_s": 2 * interval}
    assert set(report["error_s"]) == {"median", "max", "median_abs", "max_abs"}
    assert set(report["probes"]) == {"configured_rps", "sustained_rps"}
    assert report["cpu_percent_of_one_core"] > 0
    [run] = report["runs"]
    assert run["outage_s"] == 1
    assert run["ground_truth_s"] >= 1
    assert run["error_s"] == pytest.approx(run["measured_rto_s"] - run["ground_truth_s"])
    assert abs(run["error_s"]) <= 2 * interval
    assert isinstance(report["met"], bool)
