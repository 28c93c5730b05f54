from __future__ import annotations

import json
import threading
from datetime import datetime
from pathlib import Path

import pytest

from drillbook.checks.result import CheckResult, not_measured
from drillbook.drill import StepRef, Verdict
from drillbook.evidence.ledger import (
    UTC8,
    LedgerEntry,
    iso_utc8,
    mm_ss,
    next_id,
    write_entry,
)

# 2024-05-11T16:30:00Z is already 2024-05-12 00:30 in UTC+8
T0 = datetime(2024, 5, 12, 0, 30, tzinfo=UTC8).timestamp()


def rto(passed: bool = True) -> CheckResult:
    return CheckResult(
        "RTO",
        754.2 if passed else 2400.0,
        "s",
        1800.0,
        passed,
        "RTO measured from T0 until /lookup stayed at >=99% success.",
    )


def rpo() -> CheckResult:
    return CheckResult("RPO", 0.8, "s", 300.0, True, "RPO is T0 minus the last safe commit.")


def entry(
    t1_offset: float | None = 754.2, checks: tuple[CheckResult, ...] | None = None, **kwargs
) -> LedgerEntry:
    checks = checks if checks is not None else (rto(), rpo())
    return LedgerEntry.from_verdicts(
        scenario="RDBMS PITR + cross-AZ switch",
        script="features/2_pitr.feature:7",
        t0=T0,
        t1=None if t1_offset is None else T0 + t1_offset,
        verdicts=[Verdict(StepRef(20 + n, f"Then check {n}"), c) for n, c in enumerate(checks)],
        evidence=[{"name": "timeline", "sha256": "ab" * 32, "kind": "png"}],
        **kwargs,
    )


def test_time_formats() -> None:
    assert iso_utc8(T0) == "2024-05-12T00:30:00.000+08:00"
    assert mm_ss(754.2) == "12:34"
    assert mm_ss(7260) == "121:00"


def test_next_id_uses_the_utc8_date_and_the_next_free_sequence(tmp_path: Path) -> None:
    assert next_id(tmp_path, T0) == "DR-20240512-01"
    for name in (
        "DR-20240512-01.json",
        "DR-20240512-07.json",
        "DR-20240511-09.json",
        "DR-20240512-03.md",
        "notes.json",
    ):
        (tmp_path / name).write_text("{}")
    assert next_id(tmp_path, T0) == "DR-20240512-08"
    assert next_id(tmp_path, datetime(2024, 5, 11, 23, 0, tzinfo=UTC8)) == "DR-20240511-10"


def test_write_entry_json_fields(tmp_path: Path) -> None:
    files = write_entry(tmp_path, entry(owners=["sre-oncall", "dba"], error_rate=0.0123))
    assert files.id == "DR-20240512-01"
    data = json.loads(files.json_path.read_text(encoding="utf-8"))
    assert data["id"] == "DR-20240512-01"
    assert data["script"] == "features/2_pitr.feature:7"
    assert data["owners"] == ["sre-oncall", "dba"]
    assert data["t0"] == "2024-05-12T00:30:00.000+08:00"
    assert data["t1"] == "2024-05-12T00:42:34.200+08:00"
    assert data["t1_minus_t0_s"] == pytest.approx(754.2)
    assert data["t1_minus_t0"] == "12:34"
    assert data["closure_limit"] == {"limit_min": 120, "passed": True}
    assert data["figures"]["RTO (line 20)"] == {
        "check": "RTO",
        "step": "line 20: Then check 0",
        "figure": 754.2,
        "shown": "754.20 s",
        "unit": "s",
        "threshold": 1800.0,
        "passed": True,
        "verdict": "pass",
    }
    assert data["evidence"] == [{"name": "timeline", "sha256": "ab" * 32}]
    assert data["issues"] == []
    assert data["verdict"] == "pass"
    assert data["closure"] == "pending sign-off"
    assert data["error_rate"] == pytest.approx(0.0123)


def test_failed_check_becomes_an_issue_and_fails_the_verdict(tmp_path: Path) -> None:
    data = json.loads(
        write_entry(tmp_path, entry(checks=(rto(passed=False), rpo()))).json_path.read_text(
            encoding="utf-8"
        )
    )
    assert data["verdict"] == "fail"
    assert data["issues"] == [
        {
            "id": "DR-20240512-01/1",
            "check": "RTO (line 20)",
            "explanation": rto(False).explanation,
            "owner": "",
            # T1 on Sunday 2024-05-12 (UTC+8): five working days on is the Friday
            "due": "2024-05-17",
        }
    ]


def test_closure_over_120_minutes_fails(tmp_path: Path) -> None:
    late = entry(t1_offset=120 * 60 + 1)
    assert not late.within_closure_limit and late.verdict == "fail"
    assert entry(t1_offset=120 * 60).verdict == "pass"
    md = write_entry(tmp_path, late).md_path.read_text(encoding="utf-8")
    assert "| 闭环时限 (closure limit T1−T0 ≤ 120 min) | fail |" in md


def test_not_recovered(tmp_path: Path) -> None:
    files = write_entry(tmp_path, entry(t1_offset=None))
    data = json.loads(files.json_path.read_text(encoding="utf-8"))
    assert data["t1"] is None and data["t1_minus_t0_s"] is None
    assert data["t1_minus_t0"] == "not recovered"
    assert data["verdict"] == "fail"
    assert "T1 not recovered" in files.md_path.read_text(encoding="utf-8")


def test_an_issue_without_a_failed_figure_still_fails() -> None:
    e = entry()
    e.issues.append({"check": "step", "explanation": "revert of toxic failed"})
    assert e.verdict == "fail"


def test_markdown_mirrors_the_seed_table(tmp_path: Path) -> None:
    md = write_entry(tmp_path, entry()).md_path.read_text(encoding="utf-8")
    for field in (
        "编号 (ID)",
        "场景/脚本 (scenario / script)",
        "负责人/参与人 (owners / participants)",
        "起止时间 (T0 / T1, UTC+8)",
        "指标结果 (figures)",
        "证据链接 (evidence)",
        "问题与行动项 (issues and actions)",
        "闭环确认 (closure)",
    ):
        assert f"| {field} |" in md
    assert "| 编号 (ID) | DR-20240512-01 |" in md
    assert "T0 2024-05-12T00:30:00.000+08:00<br>T1 2024-05-12T00:42:34.200+08:00" in md
    assert "| T1−T0 | 754.2 s (12:34) |" in md
    assert "| line 20: Then check 0 | RTO | 754.2 s | 1800 s | pass |" in md
    assert f"| timeline | `{'ab' * 32}` |" in md
    assert "| 结论 (verdict) | **pass** |" in md


def test_two_checks_of_one_name_keep_both_figures() -> None:
    e = entry(checks=(rto(), rto(passed=False)))
    assert list(e.figures) == ["RTO (line 20)", "RTO (line 21)"]
    assert [f["verdict"] for f in e.figures.values()] == ["pass", "fail"]


def test_a_check_that_measured_nothing_reads_not_measured_and_fails(tmp_path: Path) -> None:
    nothing = not_measured("RPO", "s", 300.0, "no write was acknowledged before T0")
    files = write_entry(tmp_path, entry(checks=(rto(), nothing)))
    data = json.loads(files.json_path.read_text(encoding="utf-8"))
    figure = data["figures"]["RPO (line 21)"]
    assert (figure["figure"], figure["shown"], figure["verdict"]) == (
        None,
        "not measured",
        "not measured",
    )
    assert data["verdict"] == "fail"
    assert "| not measured | 300 s | not measured |" in files.md_path.read_text(encoding="utf-8")


def test_an_aborted_drill_never_passes(tmp_path: Path) -> None:
    aborted = entry(aborted="interrupted during 'When the network to \"llm\" is cut' (line 9)")
    assert aborted.verdict == "aborted"
    data = json.loads(write_entry(tmp_path, aborted).json_path.read_text(encoding="utf-8"))
    assert data["verdict"] == "aborted" and data["aborted"].startswith("interrupted")


def test_a_drill_without_any_check_is_not_measured_unless_a_step_failed() -> None:
    assert entry(checks=()).verdict == "not measured"
    failed = entry(checks=())
    failed.issues.append({"check": "step", "explanation": "timed out waiting", "owner": ""})
    assert failed.verdict == "fail"


def test_two_entries_on_the_same_day_get_distinct_ids(tmp_path: Path) -> None:
    first = write_entry(tmp_path, entry())
    second = write_entry(tmp_path, entry())
    assert (first.id, second.id) == ("DR-20240512-01", "DR-20240512-02")
    assert json.loads(second.json_path.read_text(encoding="utf-8"))["id"] == second.id
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "DR-20240512-01.json",
        "DR-20240512-01.md",
        "DR-20240512-02.json",
        "DR-20240512-02.md",
    ]


def test_concurrent_writers_never_collide(tmp_path: Path) -> None:
    results: list[str] = []
    barrier = threading.Barrier(8)

    def write() -> None:
        barrier.wait(timeout=5)
        results.append(write_entry(tmp_path, entry()).id)

    threads = [threading.Thread(target=write) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert sorted(results) == [f"DR-20240512-{i:02d}" for i in range(1, 9)]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp files left


def test_explicit_id_is_never_overwritten(tmp_path: Path) -> None:
    write_entry(tmp_path, entry())
    again = entry()
    again.id = "DR-20240512-01"
    with pytest.raises(FileExistsError, match="DR-20240512-01.json"):
        write_entry(tmp_path, again)


def test_every_value_is_redacted(tmp_path: Path) -> None:
    leaky = CheckResult(
        "RTO",
        None,
        "s",
        1800.0,
        False,
        "service at postgresql://glancy:hunter2@127.0.0.1:5432/glancy never "
        "recovered (PGPASSWORD=hunter2)",
        note="not recovered",
    )
    e = entry(checks=(leaky,), owners=["token=hunter2"])
    e.evidence.append({"name": "redis://:hunter2@127.0.0.1:6379 INFO", "sha256": "cd" * 32})
    files = write_entry(tmp_path, e)
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert "hunter2" not in text
        assert "postgresql://glancy:***@127.0.0.1:5432/glancy" in text
    assert "| not recovered | 1800 s | fail |" in files.md_path.read_text(encoding="utf-8")


def test_draws_and_spot_checks_are_recorded_and_rendered(tmp_path: Path) -> None:
    draw = {
        "what": "PITR spot check: restore target time",
        "seed": 99,
        "drawn": "2024-05-11T13:00:00.000+08:00",
        "among": "the scenario so far",
        "again": "--dr-seed=99",
    }
    line = {
        "日期": "2024-05-12",
        "抽查项": "PITR 备份校验",
        "样本/结果": "随机恢复 x，差异 0 条",
        "备注": "合格",
    }
    files = write_entry(tmp_path, entry(draws=[draw], spot_checks=[line]))
    data = json.loads(files.json_path.read_text(encoding="utf-8"))
    assert data["draws"] == [draw] and data["spot_checks"] == [line]
    md = files.md_path.read_text(encoding="utf-8")
    assert "| 2024-05-12 | PITR 备份校验 | 随机恢复 x，差异 0 条 | 合格 |" in md
    assert "| 99 (`--dr-seed=99`) |" in md


def test_an_entry_without_draws_renders_no_draw_section(tmp_path: Path) -> None:
    md = write_entry(tmp_path, entry()).md_path.read_text(encoding="utf-8")
    assert "抽查记录" not in md and "随机抽取" not in md


def test_a_rehearsals_parts_are_recorded_and_rendered(tmp_path: Path) -> None:
    parts = [
        {"part": "熔断", "line": 20, "outcome": "passed the first time"},
        {"part": "PITR", "line": 28, "outcome": "failed"},
    ]
    files = write_entry(tmp_path, entry(parts=parts))
    assert json.loads(files.json_path.read_text(encoding="utf-8"))["parts"] == parts
    md = files.md_path.read_text(encoding="utf-8")
    assert "| PITR | 28 | failed |" in md and "分段 (parts: 所有脚本一次通过)" in md
