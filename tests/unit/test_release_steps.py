"""The contract replay and each step of the June drill; every check made to fail."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace

import pytest

from drillbook.capabilities import Operation
from drillbook.capabilities.operation import fault
from drillbook.capabilities.service import RELEASE
from drillbook.contract import break_detected, replay
from drillbook.drill import NEMESIS, RESTORE, CheckFailed, Drill, DrillError, MissingStep, StepRef
from drillbook.faults.journal import FaultJournal
from drillbook.workload import History, Op
from steps import release
from tests.drills import fault_at

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


def drill_in(tmp_path: Path, history: History | None = None) -> Drill:
    """A drill whose feature file is in `tmp_path` (the corpus is under its data/), with the
    release's fault at T0."""
    history = History() if history is None else history
    fault_at(history, T0, target=RELEASE, kind="release v2")
    return Drill("s", tmp_path / "x.feature", 1, set(), tmp_path, history=history)


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


def test_replay_of_an_empty_corpus_is_not_measured(service, tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    result = replay(empty, service.url)
    assert not result.passed and not result.measured
    assert not break_detected(result).measured


def test_contract_passes_step_fails_on_a_break(service, corpus, tmp_path):
    release.contract_passes(drill_in(tmp_path), service, "corpus-x")
    service.body = renamed()
    with pytest.raises(CheckFailed, match=r"contract corpus-x check fail.*'definition'"):
        release.contract_passes(drill_in(tmp_path), service, "corpus-x")


def test_contract_fails_step_fails_when_no_break_is_detected(service, corpus, tmp_path):
    with pytest.raises(CheckFailed, match="break NOT detected"):
        release.contract_fails(drill_in(tmp_path), service, "corpus-x")
    service.body = renamed()
    release.contract_fails(drill_in(tmp_path), service, "corpus-x")


def test_two_replays_in_one_scenario_keep_both_figures(service, corpus, tmp_path):
    drill = drill_in(tmp_path)
    drill.step = StepRef(10, "Given the contract corpus passes 100%")
    release.contract_passes(drill, service, "corpus-x")
    service.body = renamed()
    drill.step = StepRef(12, "When the contract corpus fails")
    release.contract_fails(drill, service, "corpus-x")
    service.body = V1
    drill.step = StepRef(15, "Then the contract corpus passes 100%")
    release.contract_passes(drill, service, "corpus-x")
    assert [v.key for v in drill.verdicts] == [
        "contract corpus-x (line 10)",
        "contract corpus-x break detected (line 12)",
        "contract corpus-x (line 15)",
    ]


class Replicas:
    """The service as far as the release steps see it: versions and a rollout."""

    def __init__(self, versions: list[str]) -> None:
        self.running = list(versions)

    def versions(self) -> list[str]:
        return list(self.running)

    def roll_out(self, version: str) -> Operation[list[dict]]:
        previous = self.running[0]

        def roll_to(to: str) -> list[dict]:
            steps = [{"replica": i + 1, "version": to} for i in range(len(self.running))]
            self.running = [to] * len(self.running)
            return steps

        return fault(
            f"release {version}",
            RELEASE,
            lambda: roll_to(version),
            lambda: roll_to(previous),
            version=version,
            previous=previous,
        )


def journaled(tmp_path: Path) -> Drill:
    drill = Drill("s", tmp_path / "x.feature", 1, set(), tmp_path)
    drill.journal = FaultJournal(tmp_path / "journal.jsonl", lambda line: None)
    return drill


def test_rollout_is_t0_and_the_rollback_its_restore(tmp_path):
    drill, replicas = journaled(tmp_path), Replicas(["v1", "v1"])
    release.replicas_of(replicas, 2, "v1")
    release.roll_out(drill, replicas, "v2")
    assert replicas.versions() == ["v2", "v2"]
    assert drill.t0 == drill.operations("fault", RELEASE)[0].start
    with pytest.raises(DrillError, match="the release replaced v1, not v0"):
        release.roll_back(drill, replicas, "v0")
    release.roll_back(drill, replicas, "v1")
    assert replicas.versions() == ["v1", "v1"]
    assert drill.restored_at(RELEASE) is not None
    release.rollback_took(drill, 5, "minutes")


def test_replicas_step_refuses_another_version(tmp_path):
    with pytest.raises(DrillError, match=r"expected 2 replicas of v1 .* found \['v2', 'v1'\]"):
        release.replicas_of(Replicas(["v2", "v1"]), 2, "v1")


def test_rollback_step_needs_a_release(tmp_path):
    with pytest.raises(MissingStep, match="no release to roll back"):
        release.roll_back(journaled(tmp_path), Replicas(["v1"]), "v1")


def rolled_back(history: History, start: float, end: float) -> None:
    """The release restored by a step, from `start` to `end`."""
    value = {"kind": "restore", "target": RELEASE, "reverted": ["release v2"]}
    history.record(Op(NEMESIS, RESTORE, start, end, "ok", value))


def test_rollback_step_fails_over_the_limit_or_without_a_rollback(tmp_path):
    with pytest.raises(MissingStep, match="no rollback"):
        release.rollback_took(drill_in(tmp_path), 5, "minutes")
    history = History()
    rolled_back(history, T0 + 10, T0 + 311)
    with pytest.raises(CheckFailed, match=r"rollback check fail.*301.00 s.*threshold 300 s"):
        release.rollback_took(drill_in(tmp_path, history), 5, "minutes")
    history = History()
    rolled_back(history, T0 + 10, T0 + 22)
    drill = drill_in(tmp_path, history)
    release.rollback_took(drill, 5, "minutes")
    assert drill.results[-1].figure == pytest.approx(12.0)


def probed(failed_at: float | None) -> History:
    """Lookups every 0.1 s from T0; a rollout from T0 to T0+3, a rollback from T0+5 to T0+7."""
    history = History()
    history.record(
        Op(NEMESIS, "fault", T0, T0 + 3, "ok", {"kind": "release v2", "target": RELEASE})
    )
    rolled_back(history, T0 + 5, T0 + 7)
    for i in range(100):
        start = T0 + i / 10
        outcome = "fail" if failed_at is not None and abs(start - failed_at) < 0.01 else "ok"
        history.record(Op("probe:/lookup", "GET /lookup", start, start + 0.005, outcome))
    return history


def test_no_failed_request_step_fails_on_a_failure_in_a_rolling_window(tmp_path):
    drill = Drill("s", tmp_path / "x.feature", 1, set(), tmp_path, history=probed(T0 + 6))
    with pytest.raises(CheckFailed, match=r"SLA rollback check fail.*threshold 100 %"):
        release.none_failed_while_rolling(drill)
    # both windows are judged, each a verdict of its own
    assert [(r.name, r.passed) for r in drill.results] == [
        ("SLA roll", True),
        ("SLA rollback", False),
    ]
    drill = Drill("s", tmp_path / "x.feature", 1, set(), tmp_path, history=probed(T0 + 1))
    with pytest.raises(CheckFailed, match=r"SLA roll check fail"):
        release.none_failed_while_rolling(drill)
    assert [(r.name, r.passed) for r in drill.results] == [
        ("SLA roll", False),
        ("SLA rollback", True),
    ]
    # a failure outside the rolling windows is not theirs to judge
    drill = Drill("s", tmp_path / "x.feature", 1, set(), tmp_path, history=probed(T0 + 4))
    release.none_failed_while_rolling(drill)


def test_no_failed_request_step_needs_a_roll(tmp_path):
    drill = Drill("s", tmp_path / "x.feature", 1, set(), tmp_path)
    with pytest.raises(MissingStep, match="no rolling step"):
        release.none_failed_while_rolling(drill)


def test_a_degraded_answer_to_a_sample_recorded_in_full_is_set_aside(service, tmp_path):
    """Under load the LLM may miss the adapter's timeout: the degraded answer is the same in
    every release, so it is not compared; a replay of nothing but such answers measured
    nothing, and a break among the rest still fails."""
    full = {**SAMPLE["expect"]["body"], "ai_example": "ai", "degraded": False}
    path = tmp_path / "full.jsonl"
    path.write_text(json.dumps({**SAMPLE, "expect": {"status": 200, "body": full}}) + "\n")
    service.body = {**V1, "degraded": True, "degraded_reason": "timeout"}
    result = replay(path, service.url)
    assert not result.measured and "answered degraded" in result.explanation
    service.body = {**V1, "ai_example": "ai", "degraded": False}
    assert replay(path, service.url).passed
    service.body = {**renamed(), "ai_example": "ai", "degraded": False}
    assert not replay(path, service.url).passed
