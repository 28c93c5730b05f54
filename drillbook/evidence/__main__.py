"""`python -m drillbook.evidence COMMAND [LEDGER_DIR]`: read a ledger folder.

- `verify`: check the hash chain; one line per entry;
- `list`: one line per entry (id, verdict, drill type, scenario, T1−T0, action items);
- `show ID`: an entry's Markdown;
- `actions`: every action item, open or closed (by which entry), overdue marked;
- `report --quarter 2026Q3`: the plan's quarterly report (section 7), a Markdown page and its
  trend charts under `--out` (default reports/quarterly/<year>/Q<n>.md);
- `review --year 2026`: the December review's checks over the year (every drill type ran,
  every action item closed, spot checks cover every drill type, each closed within 120 min).

Exits 0, or 1 when the chain is broken (`verify`), an action item is open (`actions --open`) or
a review check does not pass (`review`), 2 on usage errors.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from drillbook.checks.annual_review import year_review
from drillbook.evidence.actions import action_items
from drillbook.evidence.chain import verify_chain
from drillbook.evidence.ledger import UTC8, entry_ids, load_entries
from drillbook.evidence.quarterly import parse_quarter, write_quarter

DEFAULT_LEDGER = Path("reports") / "ledger"
DEFAULT_QUARTERLY = Path("reports") / "quarterly"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m drillbook.evidence", description=__doc__.splitlines()[0]
    )
    commands = parser.add_subparsers(dest="command", required=True)
    _command(commands, "verify", "verify the hash chain of a ledger folder")
    _command(commands, "list", "one line per entry")
    show = _command(commands, "show", "print an entry's Markdown", entry_id=True)
    actions = _command(commands, "actions", "every action item, open or closed")
    actions.add_argument("--open", action="store_true", help="only the open ones; exit 1 if any")
    report = _command(commands, "report", "write the quarterly report (plan section 7)")
    report.add_argument("--quarter", required=True, help="the quarter, e.g. 2026Q3")
    report.add_argument(
        "--out", type=Path, default=DEFAULT_QUARTERLY, help=f"(default: {DEFAULT_QUARTERLY})"
    )
    review = _command(commands, "review", "the December review's checks over a year")
    review.add_argument("--year", type=int, required=True, help="the year, e.g. 2026")
    args = parser.parse_args(argv)
    if not args.ledger_dir.is_dir():
        parser.error(f"ledger folder {args.ledger_dir} does not exist or is not a folder")
    if args.command == "verify":
        chain = verify_chain(args.ledger_dir)
        _print(chain.lines())
        return 0 if chain.ok else 1
    if args.command == "list":
        _print(_entry_line(entry) for entry in load_entries(args.ledger_dir))
        return 0
    if args.command == "show":
        if args.id not in entry_ids(args.ledger_dir):
            show.error(f"no entry {args.id} in {args.ledger_dir}")
        print((args.ledger_dir / f"{args.id}.md").read_text(encoding="utf-8"), end="")
        return 0
    if args.command == "actions":
        today = datetime.now(UTC8).date().isoformat()
        items = action_items(load_entries(args.ledger_dir))
        shown = [item for item in items if item.is_open or not args.open]
        _print(
            f"{item.id}  {_status(item.closed_by, item.overdue(today))}  due {item.due or '-'}  "
            f"{item.owner or 'to assign'}  {item.drill}: {item.check}"
            for item in shown
        )
        return 1 if args.open and shown else 0
    if args.command == "review":
        results = year_review(load_entries(args.ledger_dir), args.year)
        _print(f"{result.verdict:<12} {result.explanation}" for result in results)
        return 0 if all(result.passed for result in results) else 1
    try:
        year, quarter = parse_quarter(args.quarter)
    except ValueError as exc:
        report.error(str(exc))
    print(write_quarter(load_entries(args.ledger_dir), year, quarter, args.out))
    return 0


def _command(
    commands: argparse._SubParsersAction, name: str, text: str, *, entry_id: bool = False
) -> argparse.ArgumentParser:
    command = commands.add_parser(name, help=text)
    if entry_id:
        command.add_argument("id", help="the entry's id, e.g. DR-20261203-07")
    command.add_argument(
        "ledger_dir",
        nargs="?",
        type=Path,
        default=DEFAULT_LEDGER,
        help=f"the ledger folder (default: {DEFAULT_LEDGER})",
    )
    return command


def _entry_line(entry: dict[str, Any]) -> str:
    items = len(entry.get("issues", []))
    return (
        f"{entry['id']}  {entry['verdict']:<12} {entry.get('drill_type') or '-':<24} "
        f"T1−T0 {entry.get('t1_minus_t0') or '-':<13} {items} action items  {entry['scenario']}"
    )


def _status(closed_by: str | None, overdue: bool) -> str:
    if closed_by:
        return f"closed by {closed_by}"
    return "OPEN, overdue" if overdue else "open"


def _print(lines: Iterable[str]) -> None:
    for line in lines:
        print(line)


if __name__ == "__main__":
    sys.exit(main())
