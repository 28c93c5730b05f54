"""A release rolls the service's Deployments without a failed request."""

from __future__ import annotations

import json

import httpx
import pytest

from drillbook.checks import sla
from drillbook.stack import LocalStack
from drillbook.workload import History, HttpProbe, Workload

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]


def test_rolling_the_deployments_fails_no_probe(stack: LocalStack) -> None:
    history = History()
    workload = Workload(history)
    for user in ("a", "b"):
        params = {"word": "w", "user": user}
        workload.add(HttpProbe(history, stack.service.url, "/lookup", 0.02, params=params))
    workload.start()
    try:
        steps = stack.service.roll_to("v2")
        assert stack.service.versions() == ["v2", "v2"]
        assert [step["deployment"] for step in steps] == ["lookup-bff-az-a", "lookup-bff-az-b"]
        stack.service.roll_to("v1")
    finally:
        workload.stop()
    result = sla(history, 100.0)
    assert result.passed, result.explanation
    assert result.details["operations"] > 100
    assert stack.service.versions() == ["v1", "v1"]


def test_v2_renames_definition_and_reports_its_version(stack: LocalStack) -> None:
    stack.service.roll_to("v2")
    try:
        for url in stack.service.admin_urls():
            body = httpx.get(f"{url}/lookup", params={"word": "w", "user": "u"}).json()
            assert "meaning" in body and "definition" not in body
            assert httpx.get(f"{url}/healthz").json()["version"] == "v2"
    finally:
        stack.service.roll_to("v1")


def test_admin_calls_reach_every_replica(stack: LocalStack) -> None:
    breaker = stack.service.llm_breaker()
    assert breaker["state"] == "closed" and len(breaker["replicas"]) == 2
    dsn = stack.pg.primary.app_dsn
    assert stack.service.switch_database(dsn) == stack.service.database()
    # a Pod started later reads the switched endpoint from the shared file
    assert json.loads(stack.service.config_path.read_text())["database"]["dsn"] == dsn
