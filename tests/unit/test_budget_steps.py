"""The cost-guardrail assertion steps fail when the service does not guard its budget."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from drillbook.drill import Drill
from steps import budget

pytestmark = pytest.mark.filterwarnings("ignore:.*not added to the Allure report")


class Environment:
    def __init__(self):
        self.service = self
        self.url = "http://service"


def drill(tmp_path: Path) -> Drill:
    return Drill("s", Path("x.feature"), 1, set(), tmp_path)


def answer(monkeypatch, method: str, status: int, body: dict, headers: dict | None = None):
    response = httpx.Response(status, json=body, headers=headers or {})
    monkeypatch.setattr(budget.httpx, method, lambda *args, **kwargs: response)


def test_regenerate_step_fails_when_regenerate_still_works(tmp_path, monkeypatch):
    answer(monkeypatch, "post", 200, {"word": "drill", "ai_example": "..."})
    with pytest.raises(AssertionError, match=r"answered 200 .* expected 429 'regenerate_disabled'"):
        budget.regenerate_refused(drill(tmp_path), Environment(), "regenerate_disabled")
    answer(monkeypatch, "post", 429, {"error": "regenerate_disabled", "detail": "96%"})
    budget.regenerate_refused(drill(tmp_path), Environment(), "regenerate_disabled")


def test_header_step_fails_without_the_warning(tmp_path, monkeypatch):
    answer(monkeypatch, "get", 200, {"word": "drill"}, {"X-Budget-State": "ok"})
    with pytest.raises(AssertionError, match=r"X-Budget-State: 'ok', expected 'warning'"):
        budget.lookups_carry(drill(tmp_path), Environment(), "X-Budget-State", "warning")
    answer(monkeypatch, "get", 200, {"word": "drill"}, {"X-Budget-State": "warning"})
    budget.lookups_carry(drill(tmp_path), Environment(), "X-Budget-State", "warning")
