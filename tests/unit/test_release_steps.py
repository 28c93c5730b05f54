"""The contract replay and each assertion step of the June drill, made to fail."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace

import pytest

from drillbook.contract import replay
from drillbook.drill import Drill
from drillbook.workload import History, Op
from steps import release

pytestmark = pytest.mark.filterwarnings("ignore:.*not added to the Allure report")
T0 = 1_700_000_000.0
V1 = {"word": "lucid", "definition": "basic definition of lucid", "example": "e", "source": "db"}
SAMPLE = {
    "request": {"method": "GET", "path": "/lookup", "params": {"word": "lucid", "user": "u"}},
    "expect": {"status": 200, "body": {k: v for k, v in V1.items() if k != "source"}},
}


@pytest.fixture
def service() -> Iterator[SimpleNamespace]:
    """A local HTTP server answering every GET with `state.body`."""
    state = SimpleNamespace(body=V1)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            payload = json.dumps(state.body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    path = tmp_path / "data" / "corpus-x.jsonl"
    path.parent.mkdir()
    path.write_text("\n".join(json.dumps(SAMPLE) for _ in range(4)) + "\n")
    return path


def renamed() -> dict:
    """v2's deliberate break: `definition` answered as `meaning`."""
    body = dict(V1)
    body["meaning"] = body.pop("definition")
    return body


def drill_in(tmp_path: Path) -> Drill:
    drill = Drill("s", tmp_path / "x.feature", 1, set(), tmp_path)
    drill.t0 = T0
    return drill


def test_replay_passes_on_identical_answers_ignoring_volatile_fields(service, corpus):
    service.body = {**V1, "source": "cache"}
    result = replay(corpus, service.url)
    assert result.passed and result.figure == 100.0 and result.name == "contract corpus-x"


def test_replay_fails_on_a_renamed_field_and_names_it(service, corpus):
    service.body = renamed()
    result = replay(corpus, service.url)
    assert not result.passed and result.figure == 0.0
    first = result.details["mismatches"][0]
    assert first == {
        "sample": 0,
        "field": "definition",
        "expected": "basic definition of lucid",
        "got": "<missing>",
    }
    assert "'definition'" in result.explanation


def test_contract_passes_step_fails_on_a_break(service, corpus, tmp_path):
    environment = SimpleNamespace(service=service)
    release.contract_passes(drill_in(tmp_path), environment, "corpus-x")
    service.body = renamed()
    with pytest.raises(AssertionError, match=r"contract corpus-x check failed.*'definition'"):
        release.contract_passes(drill_in(tmp_path), environment, "corpus-x")


def test_contract_fails_step_fails_when_no_break_is_detected(service, corpus, tmp_path):
    environment = SimpleNamespace(service=service)
    with pytest.raises(AssertionError, match="break NOT detected"):
        release.contract_fails(drill_in(tmp_path), environment, "corpus-x")
    service.body = renamed()
    release.contract_fails(drill_in(tmp_path), environment, "corpus-x")


def test_rollback_step_fails_over_the_limit_or_without_a_rollback(tmp_path):
    drill = drill_in(tmp_path)
    with pytest.raises(AssertionError, match="rollback check failed.*never completed"):
        release.rollback_took(drill, 5, "minutes")
    drill.facts["rollback_s"] = 301.0
    with pytest.raises(AssertionError, match=r"rollback check failed.*threshold 300 s"):
        release.rollback_took(drill, 5, "minutes")
    drill.facts["rollback_s"] = 12.0
    release.rollback_took(drill, 5, "minutes")


def probed(drill: Drill, failed_at: float | None) -> Drill:
    for i in range(100):
        start = T0 + i / 10
        outcome = "fail" if failed_at is not None and abs(start - failed_at) < 0.01 else "ok"
        drill.history.record(Op("probe:/lookup", "GET /lookup", start, start + 0.005, outcome))
    drill.marks.update({"roll start": T0 + 1, "roll end": T0 + 3})
    drill.marks.update({"rollback start": T0 + 5, "rollback end": T0 + 7})
    return drill


def test_no_failed_request_step_fails_on_a_failure_in_a_rolling_window(tmp_path):
    with pytest.raises(AssertionError, match=r"SLA rollback check failed.*threshold 100 %"):
        release.none_failed_while_rolling(probed(drill_in(tmp_path), failed_at=T0 + 6))
    # a failure outside the rolling windows is not theirs to judge
    release.none_failed_while_rolling(probed(drill_in(tmp_path), failed_at=T0 + 4))


def test_no_failed_request_step_needs_a_roll(tmp_path):
    drill = drill_in(tmp_path)
    drill.history = History()
    with pytest.raises(AssertionError, match="no rolling step was marked"):
        release.none_failed_while_rolling(drill)
