"""The result cache's two tiers (reference.cache): a replica's L1 in front of Redis, and forced
L2, which empties and bypasses the L1; and the check that no lookup came from an L1 once L2 was
forced (runbook 5.1 step 3, 强制 L2)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from drillbook.capabilities.operation import REMEDIATION
from drillbook.capabilities.service import CACHE_TIERS, FORCE_L2
from drillbook.checks.cache_tiers import l1_answers_after
from drillbook.drill import NEMESIS, CheckFailed, MissingStep
from drillbook.workload import History, Op
from reference.cache import L1, L2, ResultCache
from steps import redis as redis_steps
from tests.drills import make_drill

T0 = 1_700_000_000.0
LOOKUPS = "probe:/lookup"


class Redis:
    """What the cache uses of its Redis endpoint: a client with GET and SET."""

    available = True

    def __init__(self) -> None:
        self.client = self
        self.values: dict[str, str] = {}
        self.reads = 0

    async def get(self, key: str) -> str | None:
        self.reads += 1
        return self.values.get(key)

    async def set(self, key: str, value: str, ex: int) -> None:
        self.values[key] = value

    def describe(self) -> str:
        return "redis 127.0.0.1:6379"


def test_the_l1_answers_a_word_again_until_l2_is_forced() -> None:
    async def scenario() -> list:
        redis = Redis()
        cache = ResultCache(redis, ttl_s=300, l1_ttl_s=60)
        await cache.put("lucid", {"word": "lucid"})
        seen = [(await cache.get("lucid")).tier, redis.reads]
        cache.force(True)
        seen += [(await cache.get("lucid")).tier, redis.reads, cache.stats()["force_l2"]]
        cache.force(False)
        seen += [(await cache.get("lucid")).tier, (await cache.get("lucid")).tier]
        return seen

    assert asyncio.run(scenario()) == [L1, 0, L2, 1, True, L2, L1]


def test_without_an_l1_every_hit_is_redis() -> None:
    async def scenario() -> list[str]:
        cache = ResultCache(Redis(), ttl_s=300)
        await cache.put("lucid", {"word": "lucid"})
        return [(await cache.get("lucid")).tier for _ in range(2)]

    assert asyncio.run(scenario()) == [L2, L2]


def lookups(*sources: str, start: float = T0) -> History:
    history = History()
    for i, source in enumerate(sources):
        at = start + i / 10
        value = {"degraded": False, "reason": None, "source": source}
        history.record(Op(LOOKUPS, "GET", at, at + 0.01, "ok", value))
    return history


def test_no_l1_answer_after_the_forcing_passes_naming_those_before() -> None:
    result = l1_answers_after(lookups("l1", "l1", "cache", "db", "cache"), LOOKUPS, T0 + 0.15)
    assert result.passed and result.figure == 0
    assert result.explanation.startswith("0 of the 3 answers of probe:/lookup*")
    assert "(2 had before L2 was forced)" in result.explanation


def test_an_l1_answer_after_the_forcing_fails() -> None:
    result = l1_answers_after(lookups("l1", "cache", "l1"), LOOKUPS, T0 + 0.05)
    assert not result.passed and result.figure == 1
    assert result.details["first_from_l1"] == [pytest.approx(T0 + 0.2)]


def test_no_answer_after_the_forcing_is_not_measured() -> None:
    result = l1_answers_after(lookups("l1", "cache"), LOOKUPS, T0 + 5)
    assert result.verdict == "not measured" and not result.passed


def test_an_l1_that_never_answered_before_the_forcing_is_not_measured() -> None:
    result = l1_answers_after(lookups("cache", "db", "cache"), LOOKUPS, T0 + 0.15)
    assert result.verdict == "not measured" and not result.passed
    assert "nothing to bypass" in result.explanation


def test_the_step_judges_from_the_end_of_the_forcing(tmp_path: Path) -> None:
    history = lookups("l1", "l1", "l1", "cache")
    drill = make_drill(history, tmp_path, t0=T0)
    with pytest.raises(MissingStep, match="add 'When forced L2 is enabled'"):
        redis_steps.no_l1_answer(drill)
    value = {"kind": FORCE_L2, "target": CACHE_TIERS}
    history.record(Op(NEMESIS, REMEDIATION, T0 + 0.05, T0 + 0.25, "ok", value))
    redis_steps.no_l1_answer(drill)
    history.record(Op(NEMESIS, REMEDIATION, T0 + 0.12, T0 + 0.15, "ok", value))
    with pytest.raises(CheckFailed, match="1 of the 2 answers"):
        redis_steps.no_l1_answer(drill)
