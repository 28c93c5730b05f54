"""Cost guardrails (plan 4.1, July): LLM spend against the monthly budget, a warning at 80%,
`/regenerate` disabled at 95%, `/lookup` unaffected."""

from __future__ import annotations

import math
from functools import partial

import httpx
import pytest
from pytest_bdd import parsers, then, when

from drillbook.conditions import Poll, condition
from drillbook.drill import Drill
from drillbook.faults.journal import FaultJournal
from drillbook.stack import LocalStack
from steps import probe_user

TIMEOUT_S = 5.0


def budget(environment: LocalStack) -> dict:
    response = httpx.get(f"{environment.service.url}/admin/budget", timeout=TIMEOUT_S)
    response.raise_for_status()
    return response.json()


def refund_drill_spend(environment: LocalStack) -> None:
    """Heal of the drill's spend: the admin-recorded usage of the month is taken back."""
    url = f"{environment.service.url}/admin/budget/spend"
    httpx.delete(url, timeout=TIMEOUT_S).raise_for_status()


@when(parsers.parse("LLM spend reaches {pct:d}% of the monthly budget"))
def spend_reaches(drill: Drill, environment: LocalStack, journal: FaultJournal, pct: int) -> None:
    before = budget(environment)
    tokens = math.ceil(before["monthly_tokens"] * pct / 100) - before["used_tokens"]
    assert tokens > 0, f"spend is already at {before['used_pct']}%, above {pct}%"
    drill.mark_fault()

    def spend() -> dict:
        url = f"{environment.service.url}/admin/budget/spend"
        response = httpx.post(url, json={"tokens": tokens}, timeout=TIMEOUT_S)
        response.raise_for_status()
        return response.json()

    after = journal.inject(
        f"spend {tokens} tokens", "llm budget", spend, partial(refund_drill_spend, environment)
    )
    drill.evidence.attach_json(
        f"POST /admin/budget/spend ({pct}%)", {"before": before, "after": after}
    )


@condition("the LLM budget is in the {state} state")
def budget_state(request: pytest.FixtureRequest, drill: Drill, state: str) -> Poll:
    environment: LocalStack = request.getfixturevalue("environment")

    def poll() -> tuple[bool, str]:
        current = budget(environment)
        return current["state"] == state, f"{current['state']} at {current['used_pct']}%"

    return poll


@then(parsers.parse('lookups carry the header "{header}: {value}"'))
def lookups_carry(drill: Drill, environment: LocalStack, header: str, value: str) -> None:
    response = httpx.get(
        f"{environment.service.url}/lookup",
        params={"word": "drill", "user": probe_user(drill)},
        timeout=TIMEOUT_S,
    )
    drill.evidence.attach_json("GET /lookup headers", dict(response.headers))
    got = response.headers.get(header)
    assert got == value, f"GET /lookup answered {header}: {got!r}, expected {value!r}"


@then(parsers.parse('regenerating an example is refused with "{error}"'))
def regenerate_refused(drill: Drill, environment: LocalStack, error: str) -> None:
    response = httpx.post(
        f"{environment.service.url}/regenerate",
        params={"word": "drill", "user": probe_user(drill)},
        timeout=TIMEOUT_S,
    )
    body = response.json()
    drill.evidence.attach_json("POST /regenerate", {"status": response.status_code, **body})
    assert response.status_code == 429 and body.get("error") == error, (
        f"POST /regenerate answered {response.status_code} {body}, expected 429 {error!r}"
    )
