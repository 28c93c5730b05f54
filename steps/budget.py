"""Cost guardrails (plan 4.1, July): LLM spend against the monthly budget, a warning at 80%,
`/regenerate` disabled at 95%, `/lookup` unaffected.

The drill's spend is a fault of the drill (the first is T0), recorded through the service's
admin endpoint and taken back when the drill ends. What the service answers at each level is
a checkpoint: a step that checks the live service where it is written, so a feature checks
the warning at 80% before spending on to 95%. A checkpoint makes a request of its own, so it
is a Given or a When, never a Then: a Then must not change what the others observe.
"""

from __future__ import annotations

import math

from pytest_bdd import given, parsers, when

from drillbook.bdd import performs
from drillbook.capabilities import Service
from drillbook.checks.answers import header_is, refused_with
from drillbook.conditions import Poll, condition
from drillbook.drill import Drill, DrillError
from steps import probe_user

WORD = "drill"


@when(parsers.parse("LLM spend reaches {pct:d}% of the monthly budget"))
@performs("service.spend_tokens")
def spend_reaches(drill: Drill, service: Service, pct: int) -> None:
    before = service.budget()
    tokens = math.ceil(before["monthly_tokens"] * pct / 100) - before["used_tokens"]
    if tokens <= 0:
        raise DrillError(
            f"LLM spend is already at {before['used_pct']}% of the monthly budget, not below "
            f"{pct}%: nothing to spend (is a spend of an earlier drill still recorded?)"
        )
    after = drill.apply(service.spend_tokens(tokens))
    drill.evidence.attach_json(
        f"POST /admin/budget/spend ({pct}%)", {"tokens": tokens, "before": before, "after": after}
    )


@condition("the LLM budget is in the {state} state")
def budget_state(drill: Drill, service: Service, state: str) -> Poll:
    def poll() -> tuple[bool, str]:
        current = service.budget()
        return current["state"] == state, f"{current['state']} at {current['used_pct']}%"

    return poll


@given(parsers.parse('lookups carry the header "{header}: {value}"'))
@when(parsers.parse('lookups carry the header "{header}: {value}"'))
def lookups_carry(drill: Drill, service: Service, header: str, value: str) -> None:
    status, headers, _body = service.lookup(WORD, probe_user(drill))
    drill.evidence.attach_json("GET /lookup headers", {"status": status, "headers": headers})
    drill.verdict(header_is("GET /lookup", status, headers, header, value))


@given(parsers.parse('regenerating an example is refused with "{error}"'))
@when(parsers.parse('regenerating an example is refused with "{error}"'))
def regenerate_refused(drill: Drill, service: Service, error: str) -> None:
    status, body = service.regenerate(WORD, probe_user(drill))
    drill.evidence.attach_json("POST /regenerate", {"status": status, **body})
    drill.verdict(refused_with("POST /regenerate", status, body, error))
