"""A year of synthetic ledger entries: the quarterly report's figures (plan section 7) and the
ledger command that lists, shows and reports them."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from drillbook.checks.result import CheckResult
from drillbook.drill import StepRef, Verdict
from drillbook.evidence.__main__ import main
from drillbook.evidence.ledger import UTC8, LedgerEntry, load_entries, write_entry
from drillbook.evidence.quarterly import parse_quarter, render, summarize, write_quarter

QUALIFIED = {"日期": "", "抽查项": "PITR 备份校验", "样本/结果": "差异 0 条", "备注": "合格"}
NOT_QUALIFIED = {**QUALIFIED, "样本/结果": "差异 2 条", "备注": "不合格"}


def run(month: int, day: int, *, rto_s: float, passed: bool = True, spot=None) -> LedgerEntry:
    t0 = datetime(2026, month, day, 10, 0, tzinfo=UTC8).timestamp()
    checks = [
        CheckResult("RTO", rto_s, "s", 1800.0, passed, "RTO"),
        CheckResult("RPO", rto_s / 10, "s", 300.0, True, "RPO"),
    ]
    return LedgerEntry.from_verdicts(
        scenario=f"drill of month {month}",
        script=f"features/{month}_drill.feature:10",
        t0=t0,
        t1=t0 + 20 * 60,
        verdicts=[Verdict(StepRef(20 + n, "Then"), c) for n, c in enumerate(checks)],
        owners=["sre: SRE on call"],
        drill_type=f"month_{month}",
        spot_checks=[] if spot is None else [spot],
    )


@pytest.fixture
def year(tmp_path: Path) -> Path:
    """Each month's drill once; February fails and is re-tested in March (closing its item);
    August fails and is never re-tested; two spot checks, one not qualified."""
    ledger = tmp_path / "ledger"
    for month in range(1, 13):
        write_entry(
            ledger,
            run(
                month,
                10,
                rto_s=100.0 * month,
                passed=month not in (2, 8),
                spot={2: NOT_QUALIFIED, 8: QUALIFIED}.get(month),
            ),
        )
        if month == 2:
            write_entry(ledger, run(2, 20, rto_s=30.0, spot=QUALIFIED))
    return ledger


def test_a_quarter_counts_runs_figures_spot_checks_and_items(year: Path):
    entries = load_entries(year)
    q1 = summarize(entries, 2026, 1)
    assert len(q1.entries) == 4
    assert q1.drills["month_2"].runs == 2 and q1.drills["month_2"].passed == 1
    assert q1.drills["month_2"].rto_s == [200.0, 30.0]
    assert q1.drills["month_3"].rpo_s == [30.0]
    assert q1.drills["month_1"].closure_s == [1200.0]
    assert (q1.spot_checks, q1.spot_checks_passed) == (2, 1)
    assert q1.spot_check_pass_rate == 0.5
    assert q1.open_items == []  # February's was closed by its re-test in February


def test_an_item_never_closed_stays_open_into_later_quarters(year: Path):
    entries = load_entries(year)
    q3, q4 = summarize(entries, 2026, 3), summarize(entries, 2026, 4)
    assert [item.id for item in q3.open_items] == ["DR-20260810-01/1"]
    assert [item.id for item in q4.open_items] == ["DR-20260810-01/1"]
    assert q4.spot_check_pass_rate is None
    assert summarize(entries, 2026, 2).open_items == []


def test_the_quarterly_page_and_its_charts(year: Path, tmp_path: Path):
    page = write_quarter(load_entries(year), 2026, 3, tmp_path / "quarterly")
    assert page == tmp_path / "quarterly" / "2026" / "Q3.md"
    text = page.read_text(encoding="utf-8")
    assert "| month_8 | 1 | 0 | 800.00 s | 80.00 s | 1200.00 s |" in text
    assert "抽查通过率 (spot-check pass rate): 100% (1 of 1)" in text
    assert "| DR-20260810-01/1 |" in text
    for chart in ("Q3-rto-rpo.png", "Q3-closure.png"):
        assert (page.parent / chart).read_bytes()[:4] == b"\x89PNG"
        assert f"]({chart})" in text


def test_a_quarter_is_written_yyyyqn():
    assert parse_quarter("2026Q4") == (2026, 4)
    with pytest.raises(ValueError, match="a quarter is written YYYYQn"):
        parse_quarter("Q4-2026")


def test_the_ledger_command_lists_shows_reports_and_names_open_items(year, tmp_path, capsys):
    assert main(["list", str(year)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 13 and lines[1].startswith("DR-20260210-01  fail")
    assert main(["show", "DR-20260220-01", str(year)]) == 0
    assert "DR-20260210-01/1" in capsys.readouterr().out  # the re-test closes it
    assert main(["actions", "--open", str(year)]) == 1
    assert capsys.readouterr().out.splitlines()[0].startswith("DR-20260810-01/1  OPEN, overdue")
    out = tmp_path / "q"
    assert main(["report", "--quarter", "2026Q1", "--out", str(out), str(year)]) == 0
    assert (out / "2026" / "Q1.md").exists()
    with pytest.raises(SystemExit) as usage:
        main(["show", "DR-20990101-01", str(year)])
    assert usage.value.code == 2
    assert "no entry DR-20990101-01" in capsys.readouterr().err


def test_a_run_that_did_not_recover_is_the_worst():
    entry = run(4, 3, rto_s=100.0).as_dict()
    entry["figures"]["RTO (line 20)"]["figure"] = None
    entry["t1_minus_t0_s"] = None
    summary = summarize([entry, run(4, 20, rto_s=50.0).as_dict()], 2026, 2)
    assert summary.drills["month_4"].rto_s == [None, 50.0]
    assert "| month_4 | 2 | 2 | not recovered (1 of 2) |" in render(summary, [])
