"""Stop conditions: each one holds when it should and not before, and the watcher interrupts the
scenario's thread with the reason."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from drillbook.stop_conditions import (
    Alarm,
    DrillStopped,
    StopConditions,
    StopWatch,
    alarm_firing,
    sla_breach,
)
from drillbook.waits import wait_until
from drillbook.workload.history import History, Op


def probes(*outcomes: str, start: float = 100.0, every: float = 1.0) -> History:
    history = History()
    for n, outcome in enumerate(outcomes):
        at = start + n * every
        history.record(Op("probe:/lookup", "GET /lookup", at, at + 0.01, outcome))
    return history


def test_success_rate_below_the_floor_for_the_stated_time_is_a_breach():
    history = probes(*["ok"] * 5, *["fail"] * 5)
    reason = sla_breach(history, floor=0.9, for_s=5, now=110.0)
    assert reason is not None
    assert "0.0% over the last 5 s" in reason and "below the floor of 90.0%" in reason


def test_a_rate_at_the_floor_is_no_breach():
    history = probes(*["ok"] * 9, "fail")
    assert sla_breach(history, floor=0.9, for_s=10, now=110.0) is None


def test_no_breach_before_probes_have_run_for_the_stated_time():
    history = probes("fail", "fail")
    assert sla_breach(history, floor=0.9, for_s=10, now=102.0) is None
    assert sla_breach(History(), floor=0.9, for_s=0, now=102.0) is None


def test_the_stop_file_holds_once_it_exists(tmp_path):
    stop = tmp_path / "stop"
    conditions = StopConditions(stop_file=stop)
    assert conditions.reason(History(), time.time()) is None
    stop.touch()
    assert conditions.reason(History(), time.time()) == f"the stop file {stop} appeared"


class AlarmHandler(BaseHTTPRequestHandler):
    state = "OK"

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        body = json.dumps({"state": type(self).state}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def alarm_url():
    server = ThreadingHTTPServer(("127.0.0.1", 0), AlarmHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/alarm"
    server.shutdown()
    server.server_close()
    AlarmHandler.state = "OK"


def test_an_alarm_fires_when_its_field_says_so(alarm_url):
    alarm = Alarm(alarm_url)
    assert alarm_firing(alarm) is None
    AlarmHandler.state = "ALARM"
    assert alarm_firing(alarm) == f"the alarm at {alarm_url} reports state=ALARM"


def test_an_alarm_that_cannot_be_read_stops_the_drill():
    reason = alarm_firing(Alarm("http://127.0.0.1:9/alarm", timeout_s=0.5))
    assert reason is not None and "could not be read" in reason


def test_conditions_read_from_a_profile_mapping(tmp_path):
    spec = {
        "sla_floor": {"success_rate": 0.95, "for_s": 10},
        "stop_file": str(tmp_path / "stop"),
        "alarm": {"url": "http://a/alarm", "field": "status", "firing": "firing", "every_s": 1},
    }
    conditions = StopConditions.of(spec)
    assert conditions.sla_floor == 0.95 and conditions.sla_for_s == 10
    assert conditions.stop_file == tmp_path / "stop"
    assert conditions.alarm == Alarm("http://a/alarm", "status", "firing")
    assert conditions.every_s == 1
    assert not StopConditions.of({}).any


def test_the_watcher_interrupts_the_drill_and_records_the_stop(tmp_path):
    stop = tmp_path / "stop"
    history = History()
    said: list[str] = []
    watch = StopWatch(StopConditions(stop_file=stop, every_s=0.05), history, said.append)
    watch.start()
    try:
        stop.touch()
        with pytest.raises(DrillStopped, match="the stop file .* appeared"):
            time.sleep(5)  # a step's wait: interrupted, not waited out
    finally:
        watch.stop()
    [recorded] = history.ops(process="stop condition")
    assert recorded.f == "abort" and "stop file" in recorded.value["reason"]
    assert said and "reverting its faults" in said[0]


def test_a_stopped_watcher_interrupts_nothing(tmp_path):
    stop = tmp_path / "stop"
    history = History()
    watch = StopWatch(StopConditions(stop_file=stop, every_s=0.05), history, print)
    watch.start()
    watch.stop()
    stop.touch()
    time.sleep(0.3)  # nothing raised meanwhile
    assert history.ops(process="stop condition") == []
    assert watch.unraised is None
    watch.raise_if_stopped()  # nothing pending either


def test_no_wait_swallows_a_stop(tmp_path):
    """A stop is no Exception: a wait that retries on any error still ends at once."""
    stop = tmp_path / "stop"
    watch = StopWatch(StopConditions(stop_file=stop, every_s=0.05), History(), print)
    watch.start()

    def probe() -> tuple[bool, str]:
        stop.touch()
        time.sleep(0.5)
        return False, "not yet"

    started = time.monotonic()
    try:
        with pytest.raises(DrillStopped):
            wait_until("a condition that never holds", probe, timeout_s=10, interval_s=0.05)
    finally:
        watch.stop()
    assert time.monotonic() - started < 5
