"""The plan's spot checks (section 4.3) and their record (日期, 抽查项, 样本/结果, 备注): each drill
type's own, at least one per type (section 6). Three shapes: the PITR check (随机恢复 <time>，
差异 0 条: a restore to a time drawn at random, its tables compared with the source as it was
then), a sample drawn at random and verified item by item (随机抽 20 条 ...), and Redis's
snapshot loaded by Redis's own loader (可加载).

For the PITR check, the source as it was at a past time is read from PostgreSQL's commit
timestamps: the rows whose inserting transaction committed at or before it, which is what a
recovery to that time replays (recovery stops before the first commit after the target). That
holds for tables rows are only added to, as the plan's tables are while the spot check's
workload runs; a row updated or deleted since shows up as a difference, never as a match.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from drillbook.capabilities import DatabaseInstance
from drillbook.evidence.ledger import iso_utc8
from drillbook.redis_snapshot import RdbSnapshot

# The plan's 4.3 items, and its remarks.
PITR_ITEM = "PITR 备份校验"
RDB_ITEM = "Redis AOF 校验"
PASSED, FAILED = "合格", "不合格"
_TABLE = re.compile(r"[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)?")


def table_rows(
    instance: DatabaseInstance, table: str, committed_by: datetime | None = None
) -> list[tuple]:
    """Every row of `table` (all its columns, by its first column), or only those committed at
    or before `committed_by`, which needs `track_commit_timestamp` on (refused otherwise). A
    row whose transaction has no commit timestamp committed before the setting was turned on,
    so before any target the drill draws: it counts as committed."""
    if not _TABLE.fullmatch(table):
        raise ValueError(f"not a table name: {table!r} (lower case, optionally schema.table)")
    if committed_by is None:
        return instance.query(f"SELECT t.* FROM {table} t ORDER BY 1")
    [(tracked,)] = instance.query("SELECT current_setting('track_commit_timestamp')")
    if tracked != "on":
        raise RuntimeError(
            f"{instance.name} runs with track_commit_timestamp={tracked}: the rows of {table} "
            "as they were at a past time cannot be told apart; turn it on to spot-check a PITR"
        )
    return instance.query(
        f"SELECT t.* FROM {table} t"
        " WHERE coalesce(pg_xact_commit_timestamp(t.xmin) <= %s, true) ORDER BY 1",
        (committed_by,),
    )


@dataclass(frozen=True)
class SpotCheck:
    """One line of the plan's spot-check record (section 4.3)."""

    checked_at: float
    item: str
    sample: str
    result: str
    passed: bool

    def as_record(self) -> dict[str, str]:
        """The 4.3 columns as the plan names them, times in UTC+8 as the ledger writes them."""
        return {
            "日期": iso_utc8(self.checked_at)[:10],
            "抽查项": self.item,
            "样本/结果": f"{self.sample}，{self.result}",
            "备注": PASSED if self.passed else FAILED,
        }


def pitr_spot_check(
    checked_at: float, target: datetime, differing_rows: int | None, *, drawn: bool
) -> SpotCheck:
    """The record of a PITR spot check: the restore's target (随机 when drawn at random) and
    the rows that differed; a comparison that had nothing to measure is not 合格."""
    restore = "随机恢复" if drawn else "恢复"
    result = "无可比较的行" if differing_rows is None else f"差异 {differing_rows} 条"
    return SpotCheck(
        checked_at=checked_at,
        item=PITR_ITEM,
        sample=f"{restore} `{iso_utc8(target.timestamp())}`",
        result=result,
        passed=differing_rows == 0,
    )


@dataclass(frozen=True)
class SampleCheck:
    """How a spot check by random sample is named: its check, what it draws (`unit`), and its
    line of the record: the 4.3 item, what was drawn and what a right one is, in the plan's
    words."""

    check: str
    unit: str
    item: str
    drawn: str
    right: str

    def line(self, checked_at: float, population: int, drawn: int, wrong: int | None) -> SpotCheck:
        """`drawn` of the `population`, `wrong` of them found wrong (None: nothing could be
        drawn), the rest right."""
        if wrong is None:
            return SpotCheck(checked_at, self.item, f"无{self.drawn}可抽", "未抽查", passed=False)
        return SpotCheck(
            checked_at=checked_at,
            item=self.item,
            sample=f"随机抽 {drawn} 条{self.drawn}（共 {population} 条）",
            result=f"{drawn - wrong} 条{self.right}，{wrong} 条不合格",
            passed=wrong == 0,
        )


def rdb_spot_check(checked_at: float, snapshot: RdbSnapshot, hit_rate: float | None) -> SpotCheck:
    """The record of the Redis spot check: the snapshot loadable or why not, and the hit rate
    the drill last measured (the plan's line reports both; the hit rate has its own check)."""
    rate = "命中率未测" if hit_rate is None else f"命中率 {hit_rate:.0%}"
    sample = f"校验 {snapshot.node} 的 RDB 快照（redis-cli --rdb，{snapshot.size} 字节）可加载"
    if snapshot.keys is None:
        return SpotCheck(checked_at, RDB_ITEM, sample, f"不可加载：{snapshot.problem}", False)
    return SpotCheck(
        checked_at, RDB_ITEM, sample, f"读出 {snapshot.keys} 个键，{rate}", snapshot.keys >= 1
    )
