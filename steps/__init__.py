"""Step definitions, one module per domain. Thin: parse, call the library, attach evidence."""

import re

from drillbook.checks import CheckResult, rto
from drillbook.drill import Drill
from drillbook.profile import Profile

QUOTED = re.compile(r'"([^"]+)"')


def quoted(text: str) -> list[str]:
    """The double-quoted items of a step argument: '"/lookup" and "/history"' -> [...]."""
    items = QUOTED.findall(text)
    if not items:
        raise ValueError(f"expected one or more double-quoted items, got {text!r}")
    return items


def probe_user(drill: Drill) -> str:
    """The user the drill's probes look up as: one per scenario run, so the probes of a day's
    drills never use up one user's daily quota."""
    return f"probe-{drill.started_at:.0f}-{drill.line}"


def probe_process(name: str) -> str:
    """The history process of a probe named in Gherkin: an endpoint ("/lookup" is the HTTP
    probe "probe:/lookup") or a probe's own name ("sql:glancy", "redis:cache")."""
    return name if ":" in name else f"probe:{name}"


def rto_now(
    drill: Drill, profile: Profile, threshold_s: float, prefix: str = "probe:"
) -> CheckResult:
    """The RTO of the probes whose process starts with `prefix`, with the profile's window."""
    return rto(
        drill.history,
        drill.require_t0(),
        threshold_s,
        processes_prefix=prefix,
        window_s=profile.workload["window_s"],
        min_requests=profile.workload["window_requests"],
    )
