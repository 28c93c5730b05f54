"""Verify the hash chain of a ledger folder: every entry unaltered, none removed, none reordered.

Each JSON entry records the id and SHA-256 of the JSON before it in id order. Walking the
entries in that order, a recorded hash that differs from the previous file's bytes means that
file was altered; a recorded id missing from the folder means it was removed. The Markdown of
every entry is rendered again from its JSON and compared, so an edit to either shows. The last
entry has no successor to vouch for it: the report gives its SHA-256 to keep elsewhere (the
event system), which anchors the whole chain.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drillbook.evidence.ledger import GENESIS, entry_ids, id_key, render_markdown
from drillbook.hashing import sha256_file, short


@dataclass(frozen=True)
class ChainProblem:
    """What is wrong with one entry: ``kind`` is one of altered, removed, order, unchained,
    markdown, no-json, unreadable."""

    id: str
    kind: str
    detail: str


@dataclass
class ChainReport:
    ledger_dir: Path
    ids: list[str] = field(default_factory=list)  # id order, removed entries included
    problems: list[ChainProblem] = field(default_factory=list)
    head_sha256: str | None = None  # SHA-256 of the last entry's JSON

    @property
    def ok(self) -> bool:
        return not self.problems

    def problems_of(self, entry_id: str) -> list[ChainProblem]:
        return [p for p in self.problems if p.id == entry_id]

    def lines(self) -> list[str]:
        """One line per entry (id, ok or its problems), then a summary line."""
        lines = []
        for entry_id in self.ids:
            found = self.problems_of(entry_id)
            verdict = "; ".join(f"{p.kind}: {p.detail}" for p in found)
            lines.append(f"{entry_id}  {'PROBLEM  ' + verdict if found else 'ok'}")
        if self.ok:
            head = f"; head {self.ids[-1]} sha256 {self.head_sha256}" if self.ids else ""
            lines.append(f"{len(self.ids)} entries in {self.ledger_dir}: chain intact{head}")
        else:
            lines.append(
                f"{len(self.ids)} entries in {self.ledger_dir}: {len(self.problems)} problem(s)"
            )
        return lines


def verify_chain(ledger_dir: str | Path) -> ChainReport:
    """Walk the entries of a ledger folder in id order and report every problem where it lies."""
    ledger_dir = Path(ledger_dir)
    report = ChainReport(ledger_dir)
    json_ids = entry_ids(ledger_dir)
    hashes = {i: sha256_file(ledger_dir / f"{i}.json") for i in json_ids}
    ids = set(json_ids) | set(entry_ids(ledger_dir, ".md"))

    previous: str | None = None
    for entry_id in json_ids:
        data = _load(ledger_dir / f"{entry_id}.json", entry_id, report)
        if data is not None:
            removed = _check_link(entry_id, data, previous, hashes, report)
            if removed:
                ids.add(removed)
            _check_markdown(ledger_dir, entry_id, data, report)
        previous = entry_id
    for entry_id in ids - set(json_ids):
        if (ledger_dir / f"{entry_id}.md").exists():
            report.problems.append(
                ChainProblem(entry_id, "no-json", "a Markdown file without its JSON entry")
            )
    report.ids = sorted(ids, key=id_key)
    # A problem is often found at the next entry; list them by the entry they concern.
    report.problems.sort(key=lambda p: id_key(p.id))
    report.head_sha256 = hashes[json_ids[-1]] if json_ids else None
    return report


def _load(path: Path, entry_id: str, report: ChainReport) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_bytes())
    except (ValueError, UnicodeDecodeError) as exc:
        report.problems.append(ChainProblem(entry_id, "unreadable", f"{path.name}: {exc}"))
        return None
    if not isinstance(data, dict) or data.get("id") != entry_id:
        found = data.get("id") if isinstance(data, dict) else type(data).__name__
        report.problems.append(
            ChainProblem(entry_id, "altered", f"{path.name} holds entry {found!r}")
        )
        return None
    return data


def _check_link(
    entry_id: str,
    data: dict[str, Any],
    previous: str | None,
    hashes: dict[str, str],
    report: ChainReport,
) -> str | None:
    """Compare the link this entry recorded with the entry before it; return a removed id."""
    recorded_sha, recorded_id = data.get("prev_sha256"), data.get("prev_id")
    if "prev_sha256" not in data:
        report.problems.append(
            ChainProblem(entry_id, "unchained", "no prev_sha256 (written before the chain)")
        )
        return None
    if previous is not None and recorded_sha == hashes[previous]:
        return None
    if recorded_sha is None:
        if previous is not None:
            report.problems.append(
                ChainProblem(entry_id, "order", f"marked {GENESIS} but follows {previous}")
            )
        return None
    if recorded_id is not None and recorded_id not in hashes:
        report.problems.append(
            ChainProblem(
                recorded_id,
                "removed",
                f"missing from the folder; {entry_id} records it as its previous entry "
                f"(sha256 {short(recorded_sha)}…)",
            )
        )
        return recorded_id
    if previous is not None and recorded_id in (None, previous):
        report.problems.append(
            ChainProblem(
                previous,
                "altered",
                f"its JSON's sha256 is {short(hashes[previous])}… but {entry_id} recorded "
                f"{short(recorded_sha)}…",
            )
        )
        return None
    report.problems.append(
        ChainProblem(
            entry_id,
            "order",
            f"records {recorded_id or 'an unknown entry'} as its previous entry, "
            f"but {previous or 'nothing'} comes before it",
        )
    )
    return None


def _check_markdown(
    ledger_dir: Path, entry_id: str, data: dict[str, Any], report: ChainReport
) -> None:
    md_path = ledger_dir / f"{entry_id}.md"
    if not md_path.exists():
        report.problems.append(ChainProblem(entry_id, "markdown", f"{md_path.name} is missing"))
        return
    try:
        expected = render_markdown(data).splitlines()
    except (KeyError, TypeError, ValueError) as exc:
        report.problems.append(
            ChainProblem(entry_id, "altered", f"JSON fields cannot be rendered ({exc!r})")
        )
        return
    actual = md_path.read_text(encoding="utf-8", errors="replace").splitlines()
    if actual == expected:
        return
    line = next(
        (n for n, (a, e) in enumerate(zip(actual, expected, strict=False), 1) if a != e),
        min(len(actual), len(expected)) + 1,
    )
    report.problems.append(
        ChainProblem(
            entry_id,
            "markdown",
            f"{md_path.name} does not match its JSON: line {line} reads "
            f"{_line(actual, line)!r}, the JSON renders {_line(expected, line)!r}",
        )
    )


def _line(lines: list[str], number: int) -> str:
    return lines[number - 1].strip()[:60] if number <= len(lines) else "(end of file)"
