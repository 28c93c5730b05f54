"""The reference service with its LLM (the Doubao stand-in) up, down, slow and over budget.

The January drill (Doubao breaker → degraded answers) and the July drill (80 %/95 % cost
guardrail) in miniature, against real PostgreSQL, Redis and stand-in processes.
"""

from __future__ import annotations

import itertools
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest
import redis

from reference.config import ConfigError, load_config
from reference.results import basic_result
from tests.integration.test_reference_service import (
    REPO,
    Postgres,
    free_port,
    spawn,
    start_postgres,
    timed,
    wait_until,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

FAST_S = 0.05  # a lookup while the breaker is open never waits on the LLM
BREAKER = {"failure_threshold": 3, "window_s": 10, "open_s": 1.0, "half_open_probes": 1}


@dataclass
class Infra:
    run_dir: Path
    pg: Postgres
    redis_port: int
    names: Iterator[int]


@dataclass
class Service:
    url: str
    log: Path
    dsn: str
    redis: redis.Redis
    http: httpx.Client

    def lookup(self, word: str) -> httpx.Response:
        return self.http.get("/lookup", params={"word": word, "user": f"u-{uuid.uuid4().hex[:8]}"})

    def regenerate(self, word: str) -> httpx.Response:
        return self.http.post("/regenerate", params={"word": word, "user": "u-regen"})

    def breaker(self) -> dict:
        return self.http.get("/admin/llm").json()

    def budget(self) -> dict:
        return self.http.get("/admin/budget").json()


@dataclass
class StandIn:
    url: str
    port: int
    proc: subprocess.Popen | None = None


@pytest.fixture(scope="module")
def infra() -> Iterator[Infra]:
    with ExitStack() as stack:
        run_dir = Path(tempfile.mkdtemp(prefix="drillbook-llm-"))
        run_dir.chmod(0o755)
        stack.callback(shutil.rmtree, run_dir, ignore_errors=True)
        pg = start_postgres(stack, run_dir, "pg")
        redis_port = free_port()
        redis_args = ["--port", redis_port, "--bind", "127.0.0.1", "--save", "", "--dir", run_dir]
        spawn(stack, ["/usr/bin/redis-server", *redis_args], run_dir / "redis.log")
        wait_until("redis", redis.Redis(port=redis_port, socket_timeout=1).ping)
        yield Infra(run_dir, pg, redis_port, itertools.count(1))


@pytest.fixture
def stack() -> Iterator[ExitStack]:
    with ExitStack() as processes:
        yield processes


def start_standin(stack: ExitStack, infra: Infra, port: int, latency_ms: int = 0) -> StandIn:
    standin = StandIn(f"http://127.0.0.1:{port}", port)
    args = ["--port", port, "--latency-ms", latency_ms]
    log = infra.run_dir / f"standin-{port}.log"
    standin.proc = spawn(
        stack, [sys.executable, "-m", "reference.llm_standin", *args], log, cwd=REPO
    )
    wait_until("llm stand-in", lambda: httpx.get(f"{standin.url}/healthz").raise_for_status())
    return standin


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    proc.wait(10)


def start_service(
    stack: ExitStack, infra: Infra, llm: dict | None, budget: dict | None = None
) -> Service:
    """A service on its own database and Redis db, so budgets and breakers do not mix."""
    n = next(infra.names)
    admin = f"host=127.0.0.1 port={infra.pg.port} user=postgres dbname=postgres connect_timeout=2"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE glancy_{n}")
    dsn = infra.pg.dsn.replace("/glancy", f"/glancy_{n}")
    with psycopg.connect(dsn, connect_timeout=2) as conn:
        conn.execute((REPO / "reference" / "schema.sql").read_text())
    port = free_port()
    config = {
        "port": port,
        "database": {"dsn": dsn},
        "redis": {"url": f"redis://127.0.0.1:{infra.redis_port}/{n}"},
        **({"llm": llm} if llm else {}),
        **({"budget": budget} if budget else {}),
    }
    cfg = infra.run_dir / f"service-{n}.json"
    cfg.write_text(json.dumps(config))
    log = infra.run_dir / f"service-{n}.log"
    proc = spawn(stack, [sys.executable, "-m", "reference", "--config", cfg], log, cwd=REPO)
    url = f"http://127.0.0.1:{port}"

    def healthy() -> None:
        assert proc.poll() is None, f"service exited: {log.read_text()[-2000:]}"
        httpx.get(f"{url}/healthz").raise_for_status()

    wait_until("reference service", healthy)
    http = stack.enter_context(httpx.Client(base_url=url, timeout=10.0))
    return Service(url, log, dsn, redis.Redis(port=infra.redis_port, db=n, socket_timeout=2), http)


def llm_config(standin: StandIn, timeout_s: float = 0.8, **breaker: object) -> dict:
    return {"url": standin.url, "timeout_s": timeout_s, "breaker": {**BREAKER, **breaker}}


def degraded(word: str, reason: str) -> dict:
    return {**basic_result(word), "degraded": True, "degraded_reason": reason}


def assert_full(response: httpx.Response, word: str) -> None:
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["degraded"] is False and body["source"] in ("db", "cache")
    assert {k: body[k] for k in ("word", "definition", "example")} == basic_result(word)
    assert body["ai_example"].startswith("[doubao-lite ") and f"'{word}'" in body["ai_example"]


def test_full_answer_and_usage_with_the_llm_up(stack: ExitStack, infra: Infra) -> None:
    service = start_service(stack, infra, llm_config(start_standin(stack, infra, free_port())))
    first, second = service.lookup("apple"), service.lookup("apple")
    assert_full(first, "apple")
    assert_full(second, "apple")
    assert first.json()["ai_example"] == second.json()["ai_example"]  # deterministic stand-in
    assert second.json()["source"] == "cache"
    regenerated = service.regenerate("apple")
    assert regenerated.status_code == 200
    assert regenerated.json()["ai_example"] != first.json()["ai_example"]
    with psycopg.connect(service.dsn, connect_timeout=2) as conn:
        rows = conn.execute("SELECT kind, sum(tokens) FROM llm_usage GROUP BY kind").fetchall()
    usage = dict(rows)
    assert set(usage) == {"lookup", "regenerate"} and all(t > 0 for t in usage.values())
    budget = service.budget()
    assert budget["used_tokens"] == sum(usage.values()) and budget["state"] == "ok"
    assert service.breaker()["state"] == "closed"


def test_breaker_opens_fails_fast_and_recovers(stack: ExitStack, infra: Infra) -> None:
    """January drill: Doubao gone → 100 % degraded 200s, fast once the breaker is open."""
    standin = start_standin(stack, infra, free_port())
    service = start_service(stack, infra, llm_config(standin))
    assert_full(service.lookup("warm"), "warm")
    stop(standin.proc)

    for i in range(BREAKER["failure_threshold"]):
        response = service.lookup(f"down-{i}")
        assert (response.status_code, response.json()) == (200, degraded(f"down-{i}", "llm_error"))
    state = service.breaker()
    assert (state["state"], state["failures"]) == ("open", 3) and state["opened_at"] is not None

    elapsed = []
    for i in range(20):
        response, seconds = timed(lambda i=i: service.lookup(f"open-{i}"))
        assert (response.status_code, response.json()) == (
            200,
            degraded(f"open-{i}", "llm_circuit_open"),
        )
        elapsed.append(seconds)
    ms = sorted(s * 1000 for s in elapsed)
    print(f"fail-fast while open: median {ms[len(ms) // 2]:.1f} ms, max {ms[-1]:.1f} ms")
    assert max(elapsed) < FAST_S, f"slowest degraded answer {max(elapsed):.3f} s"
    refused = service.regenerate("open")
    assert (refused.status_code, refused.json()["error"]) == (503, "llm_unavailable")

    start_standin(stack, infra, standin.port)
    time.sleep(BREAKER["open_s"])
    assert_full(service.lookup("back"), "back")  # the half-open probe
    state = service.breaker()
    assert state["state"] == "closed"
    path = [(t["from"], t["to"]) for t in state["transitions"]]
    assert path == [("closed", "open"), ("open", "half_open"), ("half_open", "closed")]
    assert service.regenerate("back").status_code == 200


@pytest.fixture(scope="module")
def slow_standin(infra: Infra) -> Iterator[StandIn]:
    with ExitStack() as stack:
        yield start_standin(stack, infra, free_port(), latency_ms=1500)


def test_slow_llm_times_out_then_breaker_opens(
    stack: ExitStack, infra: Infra, slow_standin: StandIn
) -> None:
    service = start_service(stack, infra, llm_config(slow_standin, timeout_s=0.3))
    for i in range(BREAKER["failure_threshold"]):
        response, seconds = timed(lambda i=i: service.lookup(f"slow-{i}"))
        assert (response.status_code, response.json()) == (
            200,
            degraded(f"slow-{i}", "llm_timeout"),
        )
        assert 0.3 <= seconds < 1.0, f"lookup took {seconds:.2f} s with a 0.3 s LLM timeout"
    response, seconds = timed(lambda: service.lookup("slow-open"))
    assert response.json()["degraded_reason"] == "llm_circuit_open" and seconds < FAST_S


def test_without_breaker_every_lookup_waits_the_timeout(
    stack: ExitStack, infra: Infra, slow_standin: StandIn
) -> None:
    """The baseline the January drill must fail: no breaker, so no lookup is ever fast."""
    service = start_service(stack, infra, llm_config(slow_standin, timeout_s=0.3, enabled=False))
    for i in range(6):
        response, seconds = timed(lambda i=i: service.lookup(f"nobreaker-{i}"))
        assert response.json() == degraded(f"nobreaker-{i}", "llm_timeout")
        assert seconds >= 0.3
    assert service.breaker() == {
        "state": "disabled",
        "opened_at": None,
        "failures": 0,
        "transitions": [],
    }


def test_budget_warns_at_80_and_disables_regenerate_at_95(stack: ExitStack, infra: Infra) -> None:
    """July drill: 80 % warns (log line, header), 95 % disables regenerate, lookups go on."""
    service = start_service(
        stack,
        infra,
        llm_config(start_standin(stack, infra, free_port())),
        {"monthly_tokens": 100_000, "warn_pct": 80, "disable_pct": 95},
    )
    assert_full(service.lookup("cheap"), "cheap")

    def spend_to(tokens: int) -> dict:
        missing = tokens - service.budget()["used_tokens"]
        response = service.http.post("/admin/budget/spend", json={"tokens": missing})
        assert response.status_code == 200, response.text
        return response.json()

    assert spend_to(81_000)["state"] == "warning"
    response = service.lookup("warned")
    assert_full(response, "warned")
    assert response.headers["X-Budget-State"] == "warning"
    assert service.regenerate("warned").status_code == 200
    spend_to(90_000)
    warnings = [line for line in service.log.read_text().splitlines() if "budget warning" in line]
    assert len(warnings) == 1 and "WARNING" in warnings[0]
    assert warnings[0].endswith("llm budget warning: 81% of monthly tokens")

    status = spend_to(96_000)
    assert status["state"] == "disabled" and status["used_pct"] == 96.0
    refused = service.regenerate("late")
    assert (refused.status_code, refused.json()) == (
        429,
        {"error": "regenerate_disabled", "detail": "monthly LLM budget at 96% (disable at 95%)"},
    )
    assert service.budget()["used_tokens"] == 96_000  # refused without calling the LLM
    response = service.lookup("still")
    assert_full(response, "still")
    assert response.headers["X-Budget-State"] == "disabled"

    # the Redis counter is only the fast path: PostgreSQL rebuilds it
    used = service.budget()["used_tokens"]
    service.redis.flushdb()
    assert service.budget()["used_tokens"] == used
    month = time.strftime("%Y-%m", time.gmtime())
    assert int(service.redis.get(f"glancy:llm:tokens:{month}")) == used

    # another replica takes the spend back (its rows, then the counter and the month's refund
    # epoch, as Budget.refund does): this one's next read sees usage shrink, not a stale read
    with psycopg.connect(service.dsn, connect_timeout=2, autocommit=True) as conn:
        conn.execute("DELETE FROM llm_usage WHERE kind = 'admin'")
    with service.redis.pipeline(transaction=True) as pipe:
        pipe.delete(f"glancy:llm:tokens:{month}").incr(f"glancy:llm:refunds:{month}").execute()
    assert service.budget()["state"] == "ok"
    response = service.lookup("refunded")
    assert_full(response, "refunded")
    assert response.headers["X-Budget-State"] == "ok"


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"llm": {"model": "doubao-lite"}}, "'llm.url' is missing"),
        ({"llm": {"url": "127.0.0.1:9"}}, "'llm.url' must be an http:// or https:// URL"),
        (
            {"llm": {"url": "http://x", "breaker": {"failure_threshold": 0}}},
            "'llm.breaker.failure_threshold' must be greater than 0",
        ),
        (
            {"llm": {"url": "http://x", "breaker": {"enabled": "no"}}},
            "'llm.breaker.enabled' must be of type bool",
        ),
        ({"budget": {"warn_pct": 96}}, "'budget.disable_pct' must be >= budget.warn_pct"),
    ],
)
def test_bad_llm_config_names_the_key(tmp_path: Path, section: dict, message: str) -> None:
    path = tmp_path / "cfg.json"
    path.write_text(
        json.dumps({"database": {"dsn": "host=x"}, "redis": {"url": "redis://x"}, **section})
    )
    with pytest.raises(ConfigError, match=re.escape(f"config {path}: key {message}")):
        load_config(path)
