"""The December review (seed 4.1, 年度回顾: 复盘行动项收敛) over a year of the ledger: every drill
type of the calendar ran, every action item is closed, the spot-check record covers every drill
type (seed 6: 抽查记录必须覆盖每类演练至少一次), and every drill closed within 120 minutes.

Pure functions of the entries' JSON (drillbook.evidence.ledger.load_entries), of one year by T0
in UTC+8; an action item opened in an earlier year and never closed still counts. What the
review is for is to fail on a year that lacks something: an empty ledger fails the first check
naming every drill type missing, and the others are not measured.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from drillbook.checks.result import CheckResult, not_measured
from drillbook.checks.rows import SHOWN
from drillbook.evidence.actions import action_items, drill_type_of, t0_of
from drillbook.evidence.ledger import CLOSURE_LIMIT_S

Entry = Mapping[str, Any]
# The drill types the review expects: the calendar's months before December's own.
CALENDAR = tuple(f"month_{month}" for month in range(1, 12))


def of_year(entries: Iterable[Entry], year: int) -> list[Entry]:
    """The entries whose T0 falls in `year` (UTC+8, as the ledger writes it)."""
    return [e for e in entries if t0_of(e).year == year]


def year_review(entries: Sequence[Entry], year: int) -> list[CheckResult]:
    """The four checks over the ledger's `entries` for `year`, with the plan's 120 minutes."""
    in_year = of_year(entries, year)
    return [
        every_type_ran(in_year),
        action_items_closed([e for e in entries if t0_of(e).year <= year]),
        spot_checks_cover(in_year),
        closed_in_time(in_year, CLOSURE_LIMIT_S),
    ]


def every_type_ran(entries: Sequence[Entry], calendar: Sequence[str] = CALENDAR) -> CheckResult:
    """Each drill type of `calendar` has an entry; the figure is how many have none."""
    ran = {drill_type_of(e) for e in entries}
    missing = [kind for kind in calendar if kind not in ran]
    explanation = (
        f"{len(missing)} of {len(calendar)} drill types never ran this year: {', '.join(missing)}"
        if missing
        else f"every one of the {len(calendar)} drill types ran ({len(entries)} entries)"
    )
    details = {"missing": missing, "entries": len(entries)}
    return CheckResult(
        "drill types not run", len(missing), "types", 0, not missing, explanation, details
    )


def action_items_closed(entries: Sequence[Entry]) -> CheckResult:
    """Every action item the entries opened is closed by a later passing run."""
    name = "action items open"
    if not entries:
        return not_measured(name, "items", 0, "the ledger holds no entry up to the year's end")
    items = action_items(entries)
    still = [item for item in items if item.is_open]
    listed = "; ".join(f"{i.id} ({i.drill}: {i.check}, due {i.due or '-'})" for i in still[:3])
    explanation = (
        f"{len(still)} of {len(items)} action items still open: {listed}"
        if still
        else f"all {len(items)} action items of the year closed"
    )
    details = {"items": len(items), "open": [i.id for i in still][:SHOWN]}
    return CheckResult(name, len(still), "items", 0, not still, explanation, details)


def spot_checks_cover(entries: Sequence[Entry], calendar: Sequence[str] = CALENDAR) -> CheckResult:
    """Each drill type of `calendar` has at least one line in the spot-check record."""
    name = "drill types without a spot check"
    if not entries:
        return not_measured(name, "types", 0, "the ledger holds no entry of the year")
    checked = {drill_type_of(e) for e in entries if e.get("spot_checks")}
    missing = [kind for kind in calendar if kind not in checked]
    lines = sum(len(e.get("spot_checks", [])) for e in entries)
    explanation = (
        f"{len(missing)} of {len(calendar)} drill types have no spot check this year: "
        f"{', '.join(missing)}"
        if missing
        else f"every drill type has a spot check ({lines} lines)"
    )
    details = {"missing": missing, "lines": lines}
    return CheckResult(name, len(missing), "types", 0, not missing, explanation, details)


def closed_in_time(entries: Sequence[Entry], limit_s: float) -> CheckResult:
    """Every drill's T1−T0 within `limit_s`; one never closed (aborted, no T1) counts as late."""
    name = "drills not closed in time"
    if not entries:
        return not_measured(name, "drills", 0, "the ledger holds no entry of the year")
    late = [
        e["id"] for e in entries if e.get("t1_minus_t0_s") is None or e["t1_minus_t0_s"] > limit_s
    ]
    longest = max((e["t1_minus_t0_s"] for e in entries if e.get("t1_minus_t0_s")), default=0)
    explanation = (
        f"{len(late)} of {len(entries)} drills not closed within {limit_s / 60:g} min: "
        f"{', '.join(late[:SHOWN])}"
        if late
        else f"all {len(entries)} drills closed within {limit_s / 60:g} min (longest "
        f"{longest / 60:.1f} min)"
    )
    details = {"late": late[:SHOWN], "entries": len(entries), "longest_s": longest}
    return CheckResult(name, len(late), "drills", 0, not late, explanation, details)


def redrills_closed(
    drawn: Sequence[str], entries: Mapping[str, Entry], limit_s: float
) -> CheckResult:
    """Each scenario of the drills drawn for re-running (`drawn`, by test id) wrote a ledger
    entry (`entries`, by test id) closed within `limit_s`; one that wrote none counts."""
    name = "re-drills not closed in time"
    if not drawn:
        return not_measured(name, "drills", 0, "no re-drill was left to run (deselected?)")
    unrecorded = [test for test in drawn if test not in entries]
    late = [
        test
        for test in drawn
        if test in entries
        and (entries[test].get("t1_minus_t0_s") is None or entries[test]["t1_minus_t0_s"] > limit_s)
    ]
    closed = {test: entries[test].get("t1_minus_t0") for test in drawn if test in entries}
    problems = [f"{test}: not closed within {limit_s / 60:g} min" for test in late]
    problems += [f"{test}: no ledger entry (skipped or never started)" for test in unrecorded]
    explanation = (
        f"{len(problems)} of {len(drawn)} re-drilled scenarios: {'; '.join(problems[:SHOWN])}"
        if problems
        else f"all {len(drawn)} re-drilled scenarios closed within {limit_s / 60:g} min "
        f"(T1−T0: {', '.join(str(t) for t in closed.values())})"
    )
    details = {"late": late[:SHOWN], "unrecorded": unrecorded[:SHOWN], "closed": closed}
    return CheckResult(name, len(problems), "drills", 0, not problems, explanation, details)
