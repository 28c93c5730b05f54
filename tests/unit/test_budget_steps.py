"""The cost-guardrail steps fail when the service does not guard its budget."""

from __future__ import annotations

from pathlib import Path

import pytest

from drillbook.checks.answers import header_is, refused_with
from drillbook.drill import CheckFailed, Drill, DrillError
from drillbook.workload import History
from steps import budget
from tests.drills import make_drill

pytestmark = pytest.mark.filterwarnings("ignore:.*not added to the Allure report")
T0 = 1_700_000_000.0


class Service:
    """The service as far as the budget steps see it: canned answers, calls recorded."""

    def __init__(self, *, lookup=None, regenerate=None, budget=None) -> None:
        self.answers = {"lookup": lookup, "regenerate": regenerate, "budget": budget}
        self.calls: list[tuple] = []

    def lookup(self, word: str, user: str):
        self.calls.append(("lookup", word, user))
        return self.answers["lookup"]

    def regenerate(self, word: str, user: str):
        self.calls.append(("regenerate", word, user))
        return self.answers["regenerate"]

    def budget(self):
        return self.answers["budget"]


def drill(tmp_path: Path) -> Drill:
    return make_drill(History(), tmp_path, t0=T0)


def test_regenerate_step_fails_when_regenerate_still_works(tmp_path):
    working = Service(regenerate=(200, {"word": "drill", "ai_example": "..."}))
    with pytest.raises(CheckFailed, match=r"answered 200 .* expected 429 'regenerate_disabled'"):
        budget.regenerate_refused(drill(tmp_path), working, "regenerate_disabled")
    refused = Service(regenerate=(429, {"error": "regenerate_disabled", "detail": "96%"}))
    checked = drill(tmp_path)
    budget.regenerate_refused(checked, refused, "regenerate_disabled")
    [result] = checked.results
    assert result.passed and result.figure == 0
    assert refused.calls == [("regenerate", "drill", budget.probe_user(checked))]


def test_regenerate_step_fails_on_another_error_or_status(tmp_path):
    other = Service(regenerate=(429, {"error": "quota_exceeded"}))
    with pytest.raises(CheckFailed, match="quota_exceeded"):
        budget.regenerate_refused(drill(tmp_path), other, "regenerate_disabled")
    unavailable = Service(regenerate=(503, {"error": "regenerate_disabled"}))
    with pytest.raises(CheckFailed, match="answered 503"):
        budget.regenerate_refused(drill(tmp_path), unavailable, "regenerate_disabled")


def test_header_step_fails_without_the_warning(tmp_path):
    ok = Service(lookup=(200, {"x-budget-state": "ok"}, {"word": "drill"}))
    with pytest.raises(CheckFailed, match=r"X-Budget-State: 'ok', expected 'warning'"):
        budget.lookups_carry(drill(tmp_path), ok, "X-Budget-State", "warning")
    missing = Service(lookup=(200, {}, {"word": "drill"}))
    with pytest.raises(CheckFailed, match=r"no X-Budget-State header, expected 'warning'"):
        budget.lookups_carry(drill(tmp_path), missing, "X-Budget-State", "warning")
    warning = Service(lookup=(200, {"x-budget-state": "warning"}, {"word": "drill"}))
    checked = drill(tmp_path)
    budget.lookups_carry(checked, warning, "X-Budget-State", "warning")
    assert [r.name for r in checked.results] == ["X-Budget-State: warning"]


def test_spend_step_refuses_a_budget_already_above_the_level(tmp_path):
    spent = Service(budget={"monthly_tokens": 1000, "used_tokens": 960, "used_pct": 96.0})
    with pytest.raises(DrillError, match="already at 96.0%"):
        budget.spend_reaches(drill(tmp_path), spent, 95)


def test_header_check_is_case_insensitive_on_names_only():
    right = header_is(
        "GET /lookup", 200, {"X-Budget-State": "warning"}, "x-budget-state", "warning"
    )
    assert right.passed and right.figure == 0
    wrong = header_is(
        "GET /lookup", 200, {"X-Budget-State": "Warning"}, "X-Budget-State", "warning"
    )
    assert not wrong.passed and wrong.figure == 1 and wrong.threshold == 0


def test_refusal_check_names_what_came_back():
    result = refused_with("POST /regenerate", 200, {"word": "w"}, "regenerate_disabled")
    assert not result.passed and result.measured
    assert result.explanation == (
        "POST /regenerate answered 200 {'word': 'w'}, expected 429 'regenerate_disabled'"
    )
