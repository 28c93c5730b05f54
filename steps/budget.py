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
import time
from collections.abc import Callable

from pytest_bdd import given, parsers, then, when

from drillbook.bdd import performs, reverts
from drillbook.capabilities import FAULT, Service
from drillbook.capabilities.service import LLM_BUDGET
from drillbook.checks.answers import header_is, refused_with
from drillbook.checks.degradation import answer_problem
from drillbook.conditions import Poll, condition
from drillbook.drill import Drill, DrillError, MissingStep
from drillbook.spot_check import SampleCheck
from drillbook.waits import wait_until
from steps import probe_user
from steps.llm import lookups_spot_check

WORD = "drill"
OK = "ok"  # the budget's state below its warning level
# Every replica reads a spend or its refund at its next budget read
STATE_WAIT_S = 5.0
SPEND = "When LLM spend reaches 95% of the monthly budget"
AT_LAST_SPEND_SAMPLE = SampleCheck(
    check="lookups at the last spend without a usable answer",
    unit="lookups",
    item="成本护栏抽查",
    drawn="最后一次消耗后的查询",
    right="返回释义与例句",
)


@when(parsers.parse("LLM spend reaches {pct:d}% of the monthly budget"))
@performs("service.spend_tokens")
def spend_reaches(drill: Drill, service: Service, pct: int) -> None:
    spend_to(drill, service, pct)


@performs("service.spend_tokens")
def spend_to(drill: Drill, service: Service, pct: int) -> str:
    """Spend up to `pct`% of the month's budget; the state the service answered with."""
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
    return after["state"]


@when(
    parsers.parse(
        "the latency at {pct:d}% and the baseline are measured in turn, {rounds:d} times "
        "{seconds:g} seconds each"
    )
)
@performs("service.spend_tokens")
@reverts("service.spend_tokens")
def measured_in_turn(
    drill: Drill,
    service: Service,
    progress: Callable[[str], None],
    pct: int,
    rounds: int,
    seconds: float,
) -> None:
    """Comparison windows at `pct`% and baseline windows with the spend taken back, in turn,
    from the spend already made: a busy host drifts by 20% within a minute, too slowly to
    tell the windows of a few seconds apart, so the P95 check reads the same drift on both
    sides (drillbook.checks.latency.p95_vs_baseline). Ends with the spend taken back."""
    if service.budget()["used_pct"] < pct:
        raise MissingStep(f"the LLM spend is below {pct}%: add {SPEND!r} before this step")
    for n in range(1, rounds + 1):
        if n > 1:
            state = spend_to(drill, service, pct)
            in_state(drill, service, progress, state)
        drill.window("comparison", seconds)
        drill.restore(LLM_BUDGET)
        in_state(drill, service, progress, OK)
        drill.window("baseline", seconds)
        progress(f"latency measured at {pct}% and with the spend taken back: {n} of {rounds}")


def in_state(drill: Drill, service: Service, progress: Callable[[str], None], state: str) -> None:
    what = f"the LLM budget in the {state} state"
    wait_until(what, budget_state(drill, service, state), STATE_WAIT_S, progress=progress)


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


@then(
    parsers.parse(
        "a spot check of {n:d} lookups drawn at random since the last spend finds each answered "
        "with a definition and an example"
    )
)
def last_spend_spot_check(
    drill: Drill, draw_seed: int, progress: Callable[[str], None], n: int
) -> None:
    """Seed 4.3 for July: at the guardrail's last level (95%: regenerating refused) lookups
    must still give users what they came for, judged on what each answer carried: the
    lookups made from the last spend until it was taken back, if it was."""
    spends = drill.operations(FAULT, LLM_BUDGET)
    if not spends:
        raise MissingStep(f"no LLM spend recorded: add {SPEND!r} before this step")
    taken_back = drill.restored_at(LLM_BUDGET)
    until = taken_back if taken_back and taken_back > spends[-1].end else drill.frozen_at
    window = (spends[-1].end, until or time.time())
    lookups_spot_check(drill, progress, draw_seed, n, AT_LAST_SPEND_SAMPLE, window, answer_problem)
