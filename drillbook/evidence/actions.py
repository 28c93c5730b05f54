"""Action items over a ledger: the seed's 4.2 问题与行动项 (listed, with owner and due date) and
4.3's rule that what did not pass is re-tested within 5 working days.

Every issue of an entry is an action item, id ``<entry id>/<n>``. The ledger is append-only, so
an item is never edited closed: a later run of the same drill that passes names the items it
closes in its own entry (``closes``), and an item is open until some entry does. Pure functions
of the entries' JSON, so a year of entries reads the same whoever reads it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import PurePosixPath
from typing import Any

# The plan's times are UTC+8, as the ledger writes them.
UTC8 = timezone(timedelta(hours=8), "UTC+8")
_MONTH_FEATURE = re.compile(r"(\d+)_")


@dataclass(frozen=True)
class ActionItem:
    id: str
    entry: str
    drill: str
    drill_type: str | None
    check: str
    explanation: str
    owner: str
    due: str
    closed_by: str | None

    @property
    def is_open(self) -> bool:
        return self.closed_by is None

    def overdue(self, today: str) -> bool:
        """Open past its due date (ISO dates compare as text)."""
        return self.is_open and bool(self.due) and self.due < today


def drill_key(script: str, scenario: str) -> str:
    """Which drill an entry is a run of: its feature file and scenario (not the line, which
    moves when the file is edited)."""
    return f"{script.rsplit(':', 1)[0]} :: {scenario}"


def t0_of(entry: Mapping[str, Any]) -> datetime:
    """The entry's T0 in UTC+8."""
    return datetime.fromisoformat(entry["t0"]).astimezone(UTC8)


def drill_type_of(entry: Mapping[str, Any]) -> str | None:
    """The entry's drill type; for an entry written before types were recorded, read from its
    feature's name as the calendar names them (`2_pitr` is month_2, `runbook_*` the runbook)."""
    if entry.get("drill_type"):
        return entry["drill_type"]
    stem = PurePosixPath(entry["script"].rsplit(":", 1)[0]).stem
    month = _MONTH_FEATURE.match(stem)
    if month:
        return f"month_{int(month.group(1))}"
    return stem if stem.startswith("runbook") else None


def action_items(entries: Iterable[Mapping[str, Any]]) -> list[ActionItem]:
    """Every action item of `entries`, in their order, each with the entry that closed it."""
    entries = list(entries)
    closed_by = {item: entry["id"] for entry in entries for item in entry.get("closes", [])}
    items = []
    for entry in entries:
        for n, issue in enumerate(entry.get("issues", []), 1):
            item_id = issue.get("id") or f"{entry['id']}/{n}"  # entries before ids were kept
            items.append(
                ActionItem(
                    id=item_id,
                    entry=entry["id"],
                    drill=drill_key(entry["script"], entry["scenario"]),
                    drill_type=drill_type_of(entry),
                    check=issue.get("check", ""),
                    explanation=issue.get("explanation", ""),
                    owner=issue.get("owner", ""),
                    due=issue.get("due", ""),
                    closed_by=closed_by.get(item_id),
                )
            )
    return items


def open_items_of(entries: Iterable[Mapping[str, Any]], drill: str) -> list[str]:
    """The ids of the open action items of one drill: what its next passing run closes."""
    return [item.id for item in action_items(entries) if item.is_open and item.drill == drill]
