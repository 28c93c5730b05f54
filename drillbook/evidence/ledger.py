"""The drill ledger (seed section 4.2): one JSON and one Markdown file per drill run.

Ids are ``DR-YYYYMMDD-XX`` with the date of T0 in UTC+8 and XX the next free sequence number
of that date in the ledger folder. A file is published by hard-linking a finished temporary
file to its final name, which fails if the name exists: two runs writing at the same moment
get two ids, and a reader never sees a half-written entry.

The entries of a folder form a hash chain: each JSON records the id and SHA-256 of the JSON
bytes of the entry before it in id order (none for the first, the genesis entry), so an entry
altered or removed afterwards is detected by ``drillbook.evidence.chain.verify_chain``. A writer
hashes the head it listed and then claims the id right after it; if another writer claimed that
id first, the link fails and the loser lists the folder again, so the chain stays linear.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

from drillbook.evidence.actions import UTC8, drill_key, open_items_of
from drillbook.evidence.redact import redact_obj
from drillbook.hashing import sha256_file

CLOSURE_LIMIT_S = 120 * 60  # seed 4.2 / 6: T1 - T0 <= 120 min
PENDING_SIGN_OFF = "pending sign-off"
_MAX_ID_ATTEMPTS = 1000
ENTRY_ID = re.compile(r"DR-(\d{8})-(\d{2,})")
GENESIS = "genesis (first entry of this ledger)"
# Seed 4.3: a drill or spot check that did not pass is re-tested within 5 working days.
RETEST_WORKING_DAYS = 5


def iso_utc8(epoch: float) -> str:
    """ISO-8601 in UTC+8 to the millisecond, e.g. ``2024-05-12T00:30:00.000+08:00``."""
    return datetime.fromtimestamp(epoch, UTC8).isoformat(timespec="milliseconds")


def working_days_after(epoch: float, days: int) -> str:
    """The UTC+8 date `days` working days (Monday to Friday) after the one of `epoch`."""
    day = datetime.fromtimestamp(epoch, UTC8).date()
    while days:
        day += timedelta(days=1)
        days -= day.weekday() < 5
    return day.isoformat()


def mm_ss(seconds: float) -> str:
    """``754.2`` -> ``12:34`` (minutes may exceed 59)."""
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes:02d}:{secs:02d}"


@dataclass
class LedgerEntry:
    """One drill run. Times are epoch seconds; rendering to UTC+8 happens in ``as_dict``.

    ``figures`` maps a check name to ``{"figure", "unit", "threshold", "passed"}``; ``issues``
    holds ``{"check", "explanation", "owner", "due"}``: each is an action item (seed 4.2
    问题与行动项), id ``<entry id>/<n>``, owned by the first owner and due for a re-test within
    5 working days (seed 4.3); a later passing run of the same drill closes it (``closes``).
    The verdict is derived, never set: pass only when recovered, closed within 120 min,
    without issues and with every figure passed.
    """

    scenario: str
    script: str
    t0: float
    t1: float | None
    figures: dict[str, dict[str, Any]] = field(default_factory=dict)
    error_rate: float | None = None
    evidence: list[dict[str, str]] = field(default_factory=list)
    issues: list[dict[str, str]] = field(default_factory=list)
    owners: list[str] = field(default_factory=list)
    closure: str = PENDING_SIGN_OFF
    # The end of the RTO, when the drill was seen recovered; T1 is when the evidence was
    # written, and the closure limit is checked on T1.
    recovered_at: float | None = None
    # Why the drill stopped before its last step (Ctrl-C, SIGTERM): it never counts as a pass.
    aborted: str | None = None
    # The seeded random draws the drill made (drillbook.draws.Draw.as_dict), to draw again.
    draws: list[dict[str, Any]] = field(default_factory=list)
    # Its lines of the plan's spot-check record (section 4.3: 日期, 抽查项, 样本/结果, 备注).
    spot_checks: list[dict[str, str]] = field(default_factory=list)
    # The calendar's drill type (month_1 ... month_12) or the runbook it executes.
    drill_type: str | None = None
    # A rehearsal's parts, each with whether its scripts passed the first time.
    parts: list[dict[str, Any]] = field(default_factory=list)
    # The action items of earlier runs of this drill that this passing run closes (by id).
    closes: list[str] = field(default_factory=list)
    id: str = ""  # assigned by write_entry when empty
    # The chain link, set by write_entry: the previous entry's id and JSON SHA-256.
    prev_id: str | None = None
    prev_sha256: str | None = None

    @classmethod
    def from_verdicts(
        cls,
        *,
        scenario: str,
        script: str,
        t0: float,
        t1: float | None,
        verdicts: Iterable[Any],
        evidence: Iterable[dict[str, str]] = (),
        owners: Iterable[str] = (),
        error_rate: float | None = None,
        recovered_at: float | None = None,
        aborted: str | None = None,
        draws: Iterable[dict[str, Any]] = (),
        spot_checks: Iterable[dict[str, str]] = (),
        drill_type: str | None = None,
        parts: Iterable[dict[str, Any]] = (),
    ) -> LedgerEntry:
        """Build an entry from the drill's verdicts (drillbook.drill.Verdict): every check a
        figure keyed by the step that produced it, every check that did not pass an issue, and
        a closure over the 120 minutes an issue too (seed 6: 回溯会议中给出根因与行动项)."""
        verdicts = list(verdicts)
        entry = cls(
            scenario=scenario,
            script=script,
            t0=t0,
            t1=t1,
            recovered_at=recovered_at,
            aborted=aborted,
            draws=list(draws),
            spot_checks=list(spot_checks),
            drill_type=drill_type,
            parts=list(parts),
            error_rate=error_rate,
            owners=list(owners),
            evidence=[{"name": e["name"], "sha256": e["sha256"]} for e in evidence],
            figures={
                v.key: {
                    "check": v.result.name,
                    "step": str(v.step),
                    "figure": v.result.figure,
                    "shown": v.result.shown,
                    "unit": v.result.unit,
                    "threshold": v.result.threshold,
                    "passed": v.result.passed,
                    "verdict": v.result.verdict,
                }
                for v in verdicts
            },
        )
        for v in verdicts:
            if not v.result.passed:
                entry.add_issue(v.key, v.result.explanation)
        elapsed = entry.t1_minus_t0_s
        if elapsed is not None and not entry.within_closure_limit:
            entry.add_issue(
                "closure limit",
                f"T1−T0 {mm_ss(elapsed)} exceeds {CLOSURE_LIMIT_S // 60} min: root cause and "
                "action items for the review meeting",
            )
        return entry

    def add_issue(self, check: str, explanation: str) -> None:
        """An action item: owned by the first owner, due 5 working days after T1 (after T0
        for a drill that never closed)."""
        self.issues.append(
            {
                "check": check,
                "explanation": explanation,
                "owner": self.owners[0] if self.owners else "",
                "due": working_days_after(self.t1 or self.t0, RETEST_WORKING_DAYS),
            }
        )

    @property
    def drill_key(self) -> str:
        return drill_key(self.script, self.scenario)

    @property
    def t1_minus_t0_s(self) -> float | None:
        return None if self.t1 is None else self.t1 - self.t0

    @property
    def within_closure_limit(self) -> bool:
        elapsed = self.t1_minus_t0_s
        return elapsed is not None and elapsed <= CLOSURE_LIMIT_S

    @property
    def verdict(self) -> str:
        """aborted, fail (a step failed or a check did not pass), not measured (no check ran
        and nothing failed), or pass."""
        if self.aborted:
            return "aborted"
        if not self.figures:
            return "fail" if self.issues else "not measured"
        passed = (
            self.within_closure_limit
            and not self.issues
            and all(f.get("passed") for f in self.figures.values())
        )
        return "pass" if passed else "fail"

    def as_dict(self) -> dict[str, Any]:
        """The JSON form, every value redacted."""
        elapsed = self.t1_minus_t0_s
        return redact_obj(
            {
                "id": self.id,
                "scenario": self.scenario,
                "script": self.script,
                "owners": self.owners,
                "t0": iso_utc8(self.t0),
                "t1": None if self.t1 is None else iso_utc8(self.t1),
                "t1_minus_t0_s": None if elapsed is None else round(elapsed, 3),
                "t1_minus_t0": "not recovered" if elapsed is None else mm_ss(elapsed),
                "recovered_at": None if self.recovered_at is None else iso_utc8(self.recovered_at),
                "aborted": self.aborted,
                "closure_limit": {
                    "limit_min": CLOSURE_LIMIT_S // 60,
                    "passed": self.within_closure_limit,
                },
                "figures": self.figures,
                "error_rate": self.error_rate,
                "evidence": self.evidence,
                "drill_type": self.drill_type,
                "issues": [
                    {"id": f"{self.id}/{n}", **issue} for n, issue in enumerate(self.issues, 1)
                ],
                "closes": self.closes,
                "parts": self.parts,
                "draws": self.draws,
                "spot_checks": self.spot_checks,
                "verdict": self.verdict,
                "closure": self.closure,
                "prev_id": self.prev_id,
                "prev_sha256": self.prev_sha256,
                "genesis": self.prev_sha256 is None,
            }
        )


class LedgerFiles(NamedTuple):
    json_path: Path
    md_path: Path

    @property
    def id(self) -> str:
        return self.json_path.stem


def id_key(entry_id: str) -> tuple[str, int]:
    """Sort key of an entry id: (date, sequence), so ``-100`` sorts after ``-99``."""
    match = ENTRY_ID.fullmatch(entry_id)
    if match is None:
        raise ValueError(f"not a ledger entry id: {entry_id!r}")
    return match.group(1), int(match.group(2))


def entry_ids(ledger_dir: str | Path, suffix: str = ".json") -> list[str]:
    """Ids of the entries that have a ``suffix`` file in the folder, in chain (id) order."""
    ids = [
        p.name.removesuffix(suffix)
        for p in Path(ledger_dir).glob(f"DR-*{suffix}")
        if ENTRY_ID.fullmatch(p.name.removesuffix(suffix))
    ]
    return sorted(ids, key=id_key)


def load_entries(ledger_dir: str | Path, ids: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """The JSON of the folder's entries (or of `ids`), in chain order."""
    ledger_dir = Path(ledger_dir)
    return [
        json.loads((ledger_dir / f"{entry_id}.json").read_text(encoding="utf-8"))
        for entry_id in (entry_ids(ledger_dir) if ids is None else ids)
    ]


def _readable(ledger_dir: Path, ids: list[str]) -> list[dict[str, Any]]:
    """The entries that still read as JSON: one altered or unreadable must not cost a new run
    its record (the chain's verification names it); its items are then not closed."""
    entries = []
    for entry_id in ids:
        try:
            entries += load_entries(ledger_dir, [entry_id])
        except (OSError, ValueError):
            continue
    return entries


def next_id(ledger_dir: str | Path, when: float | datetime) -> str:
    """The next free ``DR-YYYYMMDD-XX`` for the UTC+8 date of ``when`` (epoch or datetime)."""
    return _next_id(entry_ids(ledger_dir), when)


def _next_id(ids: list[str], when: float | datetime) -> str:
    moment = when if isinstance(when, datetime) else datetime.fromtimestamp(when, UTC8)
    day = moment.astimezone(UTC8).strftime("%Y%m%d")
    used = [seq for date, seq in map(id_key, ids) if date == day]
    return f"DR-{day}-{max(used, default=0) + 1:02d}"


def write_entry(ledger_dir: str | Path, entry: LedgerEntry) -> LedgerFiles:
    """Write ``<id>.json`` and ``<id>.md`` chained to the folder's last entry; never overwrites.

    With ``entry.id`` empty the next free id of T0's date is taken (and set on the entry);
    with an explicit id that already exists, FileExistsError. The ledger is append-only: an id
    that sorts before the last entry (T0 on an earlier date) is refused with ValueError.
    """
    ledger_dir = Path(ledger_dir)
    ledger_dir.mkdir(parents=True, exist_ok=True)
    explicit = bool(entry.id)
    for _ in range(_MAX_ID_ATTEMPTS):
        # Head and id come from one listing: an id taken from a later listing could skip an
        # entry published in between and leave it out of the chain.
        ids = entry_ids(ledger_dir)
        if not explicit:
            entry.id = _next_id(ids, entry.t0)
        json_path = ledger_dir / f"{entry.id}.json"
        head = ids[-1] if ids else None
        if head is not None and id_key(entry.id) < id_key(head):
            raise ValueError(
                f"ledger {ledger_dir} is append-only: {entry.id} would sort before its last "
                f"entry {head}"
            )
        entry.prev_id = head
        entry.prev_sha256 = None if head is None else sha256_file(ledger_dir / f"{head}.json")
        if entry.verdict == "pass":
            entry.closes = open_items_of(_readable(ledger_dir, ids), entry.drill_key)
        body = json.dumps(entry.as_dict(), indent=2, ensure_ascii=False, default=str) + "\n"
        try:
            _publish(ledger_dir, json_path, body, replace=False)
        except FileExistsError:
            if explicit:
                raise FileExistsError(f"ledger entry {json_path} already exists") from None
            continue  # another run took this id after our listing: chain onto its entry
        md_path = json_path.with_suffix(".md")
        # Rendered from the JSON as written, exactly as verify_chain re-renders it.
        _publish(ledger_dir, md_path, render_markdown(json.loads(body)), replace=True)
        return LedgerFiles(json_path, md_path)
    raise RuntimeError(f"no free ledger id in {ledger_dir} after {_MAX_ID_ATTEMPTS} attempts")


def _publish(ledger_dir: Path, path: Path, body: str, *, replace: bool) -> None:
    """Write body to a temporary file in the same folder, then link/rename it to path."""
    fd, tmp = tempfile.mkstemp(dir=ledger_dir, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(body)
            f.flush()
            os.fsync(f.fileno())
        if replace:
            os.replace(tmp, path)
        else:
            os.link(tmp, path)  # atomic, and fails if path exists
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def render_markdown(entry: LedgerEntry | dict[str, Any]) -> str:
    """The seed's 4.2 table (Chinese field names, English in brackets), then the details.

    Takes an entry or its JSON form; the same JSON always renders the same text.
    """
    d = entry.as_dict() if isinstance(entry, LedgerEntry) else entry
    elapsed = (
        "not recovered"
        if d["t1_minus_t0_s"] is None
        else f"{d['t1_minus_t0_s']:.1f} s ({d['t1_minus_t0']})"
    )
    closure_check = "pass" if d["closure_limit"]["passed"] else "fail"
    figures = [f"{name} {_figure_text(f)}" for name, f in d["figures"].items()]
    if d["error_rate"] is not None:
        figures.append(f"error rate {d['error_rate']:.2%}")
    rows = [
        ("编号 (ID)", d["id"]),
        ("场景/脚本 (scenario / script)", f"{d['scenario']} / `{d['script']}`"),
        ("负责人/参与人 (owners / participants)", ", ".join(d["owners"]) or "— (not set)"),
        ("起止时间 (T0 / T1, UTC+8)", f"T0 {d['t0']}<br>T1 {d['t1'] or 'not recovered'}"),
        ("T1−T0", elapsed),
        ("恢复时刻 (recovered, end of the RTO)", d.get("recovered_at") or "not observed"),
        (f"闭环时限 (closure limit T1−T0 ≤ {d['closure_limit']['limit_min']} min)", closure_check),
        ("指标结果 (figures)", "<br>".join(figures) or "—"),
        ("证据链接 (evidence)", f"{len(d['evidence'])} item(s), SHA-256 below"),
        ("问题与行动项 (issues and actions)", f"{len(d['issues'])} item(s), listed below"),
        *(
            [("闭环的行动项 (earlier action items this run closes)", ", ".join(d["closes"]) or "—")]
            if "closes" in d  # entries written before action items had ids render as they were
            else []
        ),
        (
            "结论 (verdict)",
            f"**{d['verdict']}**" + (f": {d['aborted']}" if d.get("aborted") else ""),
        ),
        ("闭环确认 (closure)", d["closure"]),
        ("台账链 (chain: previous entry, SHA-256 of its JSON)", _chain_text(d)),
    ]
    lines = [
        f"# 演练台账 (drill ledger) {d['id']}",
        "",
        "| 字段 (field) | 内容 (value) |",
        "| --- | --- |",
    ]
    lines += [f"| {_cell(k)} | {_cell(v)} |" for k, v in rows]
    lines += [
        "",
        "## 指标结果 (figures)",
        "",
        "| step | check | figure | threshold | result |",
        "| --- | --- | --- | --- | --- |",
    ]
    lines += [
        f"| {_cell(f.get('step', ''))} | {_cell(f.get('check', name))} | {_cell(_shown(f))} | "
        f"{_cell(_number(f['threshold'], f['unit']))} | {_result(f)} |"
        for name, f in d["figures"].items()
    ]
    lines += ["", "## 证据 (evidence)", "", "| name | sha256 |", "| --- | --- |"]
    lines += [f"| {_cell(e['name'])} | `{e['sha256']}` |" for e in d["evidence"]]
    lines += [
        "",
        "## 问题与行动项 (issues and actions)",
        "",
        "| check | explanation | owner | due |",
        "| --- | --- | --- | --- |",
    ]
    lines += [
        f"| {_cell(_issue_name(i))} | {_cell(i.get('explanation', ''))} | "
        f"{_cell(i.get('owner') or 'to assign')} | {_cell(i.get('due') or 'to set')} |"
        for i in d["issues"]
    ] or ["| — | none | | |"]
    if d.get("parts"):
        lines += ["", "## 分段 (parts: 所有脚本一次通过)", "", "| part | line | outcome |"]
        lines += ["| --- | --- | --- |"]
        lines += [f"| {_cell(p['part'])} | {p['line']} | {p['outcome']} |" for p in d["parts"]]
    if d.get("spot_checks"):
        lines += [
            "",
            "## 抽查记录 (spot checks, plan 4.3)",
            "",
            "| 日期 | 抽查项 | 样本/结果 | 备注 |",
        ]
        lines += ["| --- | --- | --- | --- |"]
        lines += [
            "| " + " | ".join(_cell(c[k]) for k in ("日期", "抽查项", "样本/结果", "备注")) + " |"
            for c in d["spot_checks"]
        ]
    if d.get("draws"):
        lines += ["", "## 随机抽取 (random draws)", ""]
        lines += ["| what | drawn | among | seed |", "| --- | --- | --- | --- |"]
        lines += [
            f"| {_cell(w['what'])} | {_cell(w['drawn'])} | {_cell(w['among'])} | "
            f"{w['seed']} (`{_cell(w['again'])}`) |"
            for w in d["draws"]
        ]
    return "\n".join(lines) + "\n"


def _issue_name(issue: dict[str, Any]) -> str:
    check = issue.get("check", "")
    return f"{issue['id']}: {check}" if "id" in issue else check


def _chain_text(d: dict[str, Any]) -> str:
    if d.get("prev_sha256") is None:
        return GENESIS
    return f"{d.get('prev_id') or 'unknown id'} `{d['prev_sha256']}`"


def _figure_text(f: dict[str, Any]) -> str:
    return f"{_shown(f)} (threshold {_number(f['threshold'], f['unit'])}, {_result(f)})"


def _shown(f: dict[str, Any]) -> str:
    """The number, or without one what its check said instead ("no outage observed")."""
    if f["figure"] is not None:
        return _number(f["figure"], f["unit"])
    return f.get("shown") or "not measured"


def _number(value: Any, unit: str) -> str:
    if value is None:
        return "not measured"
    if isinstance(value, float):
        value = format(round(value, 3), ".15g")  # 1800.0 -> 1800, 754.2 -> 754.2
    return f"{value} {unit}".strip()


def _result(f: dict[str, Any]) -> str:
    return f.get("verdict") or ("pass" if f.get("passed") else "fail")


def _cell(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\n", "<br>")
