"""Spot checks by random sample (plan 4.3): the draw, each item's verification and the record."""

from __future__ import annotations

import hashlib

from drillbook.checks.exports import ExportRecord, download_problem
from drillbook.checks.rdb import rdb_loads
from drillbook.checks.spot import content_problem, row_problem, sampled
from drillbook.draws import sample
from drillbook.objects import Current
from drillbook.redis_snapshot import RdbSnapshot
from drillbook.spot_check import SampleCheck, rdb_spot_check

BODY = b'{"user": "u-0001"}\n'
DONE = ExportRecord("t1", 10.0, 1, 1, "exports/u-0001/t1.jsonl", hashlib.sha256(BODY).hexdigest())


def test_a_sample_is_reproducible_whatever_order_the_population_came_in():
    tasks = [f"t{n}" for n in range(50)]
    drawn = sample(7, "export spot check", tasks, 20)
    assert len(set(drawn)) == 20 and set(drawn) <= set(tasks)
    assert sample(7, "export spot check", list(reversed(tasks)), 20) == drawn
    assert sample(8, "export spot check", tasks, 20) != drawn
    assert sorted(sample(7, "export spot check", tasks[:3], 20)) == tasks[:3]


def test_a_task_downloaded_with_its_recorded_content_is_right():
    assert download_problem(DONE, BODY) is None


def test_each_way_a_task_can_be_wrong_for_its_user():
    assert download_problem(None, BODY) == "never completed"
    twice = ExportRecord("t1", 10.0, 2, 2, DONE.object_key, DONE.sha256)
    assert download_problem(twice, BODY).startswith("completed more than once")
    assert download_problem(DONE, "export t1 is failed: no download link") == (
        "export t1 is failed: no download link"
    )
    assert "the download has SHA-256" in download_problem(DONE, b"something else")


def test_a_sample_with_a_wrong_item_fails_and_names_it():
    result = sampled("wrong", "exports", 40, {"t1": None, "t2": "never completed"})
    assert not result.passed and result.figure == 1
    assert "1 of 2 exports drawn at random (of 40) verified; wrong: t2: never completed" in (
        result.explanation
    )
    assert sampled("wrong", "exports", 40, {"t1": None}).passed


def test_nothing_to_draw_from_is_not_measured():
    result = sampled("wrong", "exports", 0, {})
    assert not result.passed and not result.measured


def test_the_line_of_the_record_of_a_sample():
    spec = SampleCheck("wrong exports", "exports", "导出任务重放", "失败任务", "可下载")
    line = spec.line(0.0, 41, 20, 1).as_record()
    assert line["抽查项"] == "导出任务重放"
    assert line["样本/结果"] == "随机抽 20 条失败任务（共 41 条），19 条可下载，1 条不合格"
    assert line["备注"] == "不合格"
    assert spec.line(0.0, 41, 20, 0).as_record()["备注"] == "合格"
    nothing = spec.line(0.0, 0, 0, None).as_record()
    assert nothing["样本/结果"] == "无失败任务可抽，未抽查" and nothing["备注"] == "不合格"


def test_an_rdb_snapshot_that_loads_keys_passes_and_its_line_reports_the_hit_rate():
    loaded = RdbSnapshot("primary", 4096, 812, None)
    assert rdb_loads(loaded).passed and rdb_loads(loaded).figure == 812
    line = rdb_spot_check(0.0, loaded, 0.85).as_record()
    assert line["抽查项"] == "Redis AOF 校验" and line["备注"] == "合格"
    assert line["样本/结果"].endswith("读出 812 个键，命中率 85%")


def test_an_rdb_snapshot_that_does_not_load_or_holds_nothing_fails():
    broken = RdbSnapshot("primary", 10, None, "redis-check-rdb: Wrong signature")
    result = rdb_loads(broken)
    assert not result.passed and "did not load: redis-check-rdb: Wrong signature" in (
        result.explanation
    )
    assert rdb_spot_check(0.0, broken, None).as_record()["备注"] == "不合格"
    empty = RdbSnapshot("primary", 90, 0, None)
    assert not rdb_loads(empty).passed


def test_a_row_is_right_when_found_with_its_payload():
    found = {1: "drill write 1", 2: "something else"}
    assert row_problem(1, found, "drill write 1", "az-a") is None
    assert row_problem(2, found, "drill write 2", "az-a") == "payload 'something else'"
    assert row_problem(3, found, "drill write 3", "az-a") == "missing from az-a"


def test_an_object_is_right_when_its_bytes_hash_to_what_was_written():
    digest = hashlib.sha256(b"canary").hexdigest()
    assert content_problem(Current("v1", digest), digest) is None
    assert content_problem(Current("v1", "0" * 64), digest).startswith("sha256 000")
    assert content_problem(Current(error="NoSuchKey"), digest) == "NoSuchKey"
