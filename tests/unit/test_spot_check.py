"""The PITR spot check (seed 4.3): the source's rows as they were at the target, read by
commit time, and the line of the plan's spot-check record."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from drillbook.spot_check import PITR_ITEM, pitr_spot_check, table_rows

TARGET = datetime(2026, 8, 1, 4, 0, tzinfo=UTC)  # 12:00 in UTC+8


class Instance:
    """A database instance that records the statements it was given."""

    name = "fake"

    def __init__(self, tracked: str = "on") -> None:
        self.tracked = tracked
        self.statements: list[tuple[str, tuple | None]] = []

    def query(self, statement: str, params: tuple | None = None) -> list[tuple]:
        if "track_commit_timestamp" in statement:
            return [(self.tracked,)]
        self.statements.append((statement, params))
        return [(1, "a")]


def test_the_source_at_the_target_is_its_rows_committed_by_then():
    instance = Instance()
    assert table_rows(instance, "lookups", TARGET) == [(1, "a")]
    [(statement, params)] = instance.statements
    assert "FROM lookups t" in statement and "pg_xact_commit_timestamp(t.xmin) <= %s" in statement
    assert params == (TARGET,)


def test_without_commit_timestamps_the_past_is_refused():
    with pytest.raises(RuntimeError, match="track_commit_timestamp=off"):
        table_rows(Instance(tracked="off"), "lookups", TARGET)


def test_a_restored_copy_is_read_whole():
    instance = Instance()
    table_rows(instance, "exports.tasks")
    [(statement, params)] = instance.statements
    assert statement == "SELECT t.* FROM exports.tasks t ORDER BY 1" and params is None


@pytest.mark.parametrize("table", ["lookups; DROP TABLE x", "Lookups", "a.b.c", ""])
def test_a_bad_table_name_is_refused_before_any_query(table):
    instance = Instance()
    with pytest.raises(ValueError, match="not a table name"):
        table_rows(instance, table)
    assert instance.statements == []


def test_a_random_restore_with_no_difference_is_qualified():
    line = pitr_spot_check(TARGET.timestamp(), TARGET, 0, drawn=True).as_record()
    assert line == {
        "日期": "2026-08-01",
        "抽查项": PITR_ITEM,
        "样本/结果": "随机恢复 `2026-08-01T12:00:00.000+08:00`，差异 0 条",
        "备注": "合格",
    }


def test_a_difference_or_nothing_compared_is_not_qualified():
    differing = pitr_spot_check(TARGET.timestamp(), TARGET, 3, drawn=False).as_record()
    assert differing["样本/结果"].startswith("恢复 ") and "差异 3 条" in differing["样本/结果"]
    assert differing["备注"] == "不合格"
    nothing = pitr_spot_check(TARGET.timestamp(), TARGET, None, drawn=True).as_record()
    assert "无可比较的行" in nothing["样本/结果"] and nothing["备注"] == "不合格"
