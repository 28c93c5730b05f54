"""The router rolls replicas of the real service without a failed request."""

from __future__ import annotations

import httpx
import pytest

from drillbook.checks import sla
from drillbook.stack import LocalStack
from drillbook.workload import History, HttpProbe, Workload

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]


def test_rolling_a_replica_fails_no_probe(stack: LocalStack) -> None:
    history = History()
    workload = Workload(history)
    for user in ("a", "b"):
        params = {"word": "w", "user": user}
        workload.add(HttpProbe(history, stack.service.url, "/lookup", 0.02, params=params))
    workload.start()
    try:
        stack.service.roll(0, "v2")
        assert stack.service.versions() == ["v2", "v1"]
        stack.service.roll(0, "v1")
    finally:
        workload.stop()
    result = sla(history, 100.0)
    assert result.passed, result.explanation
    assert result.details["operations"] > 100
    assert stack.service.versions() == ["v1", "v1"]


def test_v2_renames_definition_and_reports_its_version(stack: LocalStack) -> None:
    replica = stack.service.replicas[1]
    replica.restart_as("v2")
    try:
        body = httpx.get(f"{replica.url}/lookup", params={"word": "w", "user": "u"}).json()
        assert "meaning" in body and "definition" not in body
        assert httpx.get(f"{replica.url}/healthz").json()["version"] == "v2"
    finally:
        replica.restart_as("v1")


def test_admin_calls_reach_every_replica(stack: LocalStack) -> None:
    breaker = stack.service.llm_breaker()
    assert breaker["state"] == "closed" and len(breaker["replicas"]) == 2
    dsn = stack.pg.primary.app_dsn
    assert stack.service.switch_database(dsn) == stack.service.database()
    assert all(r.config["database"]["dsn"] == dsn for r in stack.service.replicas)
