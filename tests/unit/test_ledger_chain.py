from __future__ import annotations

import json
import subprocess
import sys
import threading
from datetime import datetime
from pathlib import Path

import pytest

from drillbook.checks.result import CheckResult
from drillbook.drill import StepRef, Verdict
from drillbook.evidence.__main__ import main
from drillbook.evidence.chain import ChainReport, verify_chain
from drillbook.evidence.ledger import UTC8, LedgerEntry, write_entry
from drillbook.hashing import sha256_file

T0 = datetime(2024, 5, 12, 0, 30, tzinfo=UTC8).timestamp()
ROOT = Path(__file__).resolve().parents[2]


def entry(t0: float = T0) -> LedgerEntry:
    return LedgerEntry.from_verdicts(
        scenario="RDBMS PITR + cross-AZ switch",
        script="features/2_pitr.feature:7",
        t0=t0,
        t1=t0 + 754.2,
        verdicts=[
            Verdict(
                StepRef(12, "Then the RTO is at most 30 minutes"),
                CheckResult("RTO", 754.2, "s", 1800.0, True, "RTO from T0 to recovery."),
            )
        ],
        evidence=[{"name": "timeline", "sha256": "ab" * 32}],
    )


def ledger(tmp_path: Path, n: int = 4) -> Path:
    for _ in range(n):
        write_entry(tmp_path, entry())
    return tmp_path


def kinds(report: ChainReport, entry_id: str) -> list[str]:
    return sorted(p.kind for p in report.problems_of(entry_id))


def test_entries_are_chained_to_the_json_before_them(tmp_path: Path) -> None:
    ledger(tmp_path, 3)
    first, second, third = (
        json.loads((tmp_path / f"DR-20240512-0{i}.json").read_text(encoding="utf-8"))
        for i in (1, 2, 3)
    )
    assert (first["prev_id"], first["prev_sha256"], first["genesis"]) == (None, None, True)
    assert second["prev_id"] == "DR-20240512-01"
    assert second["prev_sha256"] == sha256_file(tmp_path / "DR-20240512-01.json")
    assert third["prev_sha256"] == sha256_file(tmp_path / "DR-20240512-02.json")
    assert not third["genesis"]
    md = (tmp_path / "DR-20240512-02.md").read_text(encoding="utf-8")
    assert f"| DR-20240512-01 `{second['prev_sha256']}` |" in md
    assert "genesis (first entry of this ledger)" in (tmp_path / "DR-20240512-01.md").read_text(
        encoding="utf-8"
    )


def test_the_chain_crosses_dates_in_id_order(tmp_path: Path) -> None:
    write_entry(tmp_path, entry())
    next_day = write_entry(tmp_path, entry(T0 + 86_400))
    data = json.loads(next_day.json_path.read_text(encoding="utf-8"))
    assert (next_day.id, data["prev_id"]) == ("DR-20240513-01", "DR-20240512-01")
    assert verify_chain(tmp_path).ok


def test_the_ledger_is_append_only(tmp_path: Path) -> None:
    write_entry(tmp_path, entry(T0 + 86_400))
    with pytest.raises(ValueError, match="append-only: DR-20240512-01 would sort before"):
        write_entry(tmp_path, entry())


def test_intact_chain_verifies(tmp_path: Path) -> None:
    report = verify_chain(ledger(tmp_path))
    assert report.ok, report.lines()
    assert report.ids == [f"DR-20240512-0{i}" for i in range(1, 5)]
    assert report.head_sha256 == sha256_file(tmp_path / "DR-20240512-04.json")
    assert report.lines()[0] == "DR-20240512-01  ok"
    assert "chain intact" in report.lines()[-1]


def test_an_edited_figure_is_reported_with_the_entry_id(tmp_path: Path) -> None:
    path = ledger(tmp_path) / "DR-20240512-02.json"
    path.write_text(
        path.read_text(encoding="utf-8").replace('"figure": 754.2', '"figure": 54.2'),
        encoding="utf-8",
    )
    report = verify_chain(tmp_path)
    assert not report.ok
    # The next entry's recorded hash no longer matches, and the Markdown shows the old figure.
    assert kinds(report, "DR-20240512-02") == ["altered", "markdown"]
    [altered] = [p for p in report.problems if p.kind == "altered"]
    assert "DR-20240512-03 recorded" in altered.detail
    assert [p.id for p in report.problems] == ["DR-20240512-02"] * 2


def test_a_deleted_middle_entry_is_reported(tmp_path: Path) -> None:
    ledger(tmp_path)
    for suffix in (".json", ".md"):
        (tmp_path / f"DR-20240512-02{suffix}").unlink()
    report = verify_chain(tmp_path)
    assert kinds(report, "DR-20240512-02") == ["removed"]
    assert "DR-20240512-03 records it" in report.problems_of("DR-20240512-02")[0].detail
    assert report.ids == [f"DR-20240512-0{i}" for i in range(1, 5)]
    assert report.lines()[1].startswith("DR-20240512-02  PROBLEM  removed:")


def test_a_deleted_json_with_its_markdown_left_is_reported(tmp_path: Path) -> None:
    (ledger(tmp_path) / "DR-20240512-03.json").unlink()
    report = verify_chain(tmp_path)
    assert kinds(report, "DR-20240512-03") == ["no-json", "removed"]


def test_a_tampered_markdown_is_reported(tmp_path: Path) -> None:
    path = ledger(tmp_path) / "DR-20240512-03.md"
    path.write_text(
        path.read_text(encoding="utf-8").replace("**pass**", "**fail**"), encoding="utf-8"
    )
    report = verify_chain(tmp_path)
    [problem] = report.problems
    assert (problem.id, problem.kind) == ("DR-20240512-03", "markdown")
    assert "**fail**" in problem.detail and "**pass**" in problem.detail


def test_a_missing_markdown_and_an_unreadable_json_are_reported(tmp_path: Path) -> None:
    ledger(tmp_path)
    (tmp_path / "DR-20240512-01.md").unlink()
    (tmp_path / "DR-20240512-04.json").write_text("{not json", encoding="utf-8")
    report = verify_chain(tmp_path)
    assert kinds(report, "DR-20240512-01") == ["markdown"]
    assert kinds(report, "DR-20240512-04") == ["unreadable"]


def test_an_entry_inserted_out_of_chain_is_reported(tmp_path: Path) -> None:
    ledger(tmp_path, 2)
    # A copy of the genesis entry under a later id claims to be first although it is not.
    forged = json.loads((tmp_path / "DR-20240512-01.json").read_text(encoding="utf-8"))
    forged["id"] = "DR-20240512-03"
    body = json.dumps(forged, indent=2, ensure_ascii=False) + "\n"
    (tmp_path / "DR-20240512-03.json").write_text(body, encoding="utf-8")
    report = verify_chain(tmp_path)
    assert kinds(report, "DR-20240512-03") == ["markdown", "order"]


def test_concurrent_writers_keep_one_linear_chain(tmp_path: Path) -> None:
    writers, per_writer = 8, 3
    barrier = threading.Barrier(writers)
    errors: list[BaseException] = []

    def write() -> None:
        try:
            barrier.wait(timeout=5)
            for _ in range(per_writer):
                write_entry(tmp_path, entry())
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=write) for _ in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=20)
    assert not errors and not any(t.is_alive() for t in threads)
    report = verify_chain(tmp_path)
    assert report.ok, report.lines()
    assert len(report.ids) == writers * per_writer
    prev_ids = [
        json.loads((tmp_path / f"{i}.json").read_text(encoding="utf-8"))["prev_id"]
        for i in report.ids
    ]
    assert prev_ids == [None, *report.ids[:-1]]


def test_verify_command_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ledger(tmp_path, 2)
    assert main(["verify", str(tmp_path)]) == 0
    assert capsys.readouterr().out.splitlines()[:2] == [
        "DR-20240512-01  ok",
        "DR-20240512-02  ok",
    ]
    (tmp_path / "DR-20240512-01.md").write_text("edited\n", encoding="utf-8")
    assert main(["verify", str(tmp_path)]) == 1
    assert "DR-20240512-01  PROBLEM  markdown:" in capsys.readouterr().out
    with pytest.raises(SystemExit) as usage:
        main(["verify", str(tmp_path / "nowhere")])
    assert usage.value.code == 2
    assert f"ledger folder {tmp_path / 'nowhere'} does not exist" in capsys.readouterr().err


def test_verify_runs_as_a_module(tmp_path: Path) -> None:
    ledger(tmp_path, 1)
    done = subprocess.run(
        [sys.executable, "-m", "drillbook.evidence", "verify", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (done.returncode, done.stdout.splitlines()[0]) == (0, "DR-20240512-01  ok")
