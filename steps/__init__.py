"""Step definitions, one module per domain. Thin: parse, call the library, attach evidence.

A step asks for what it needs by parameter name: `drill`, the profile `dr_profile`, and the
environment's capabilities (`service`, `database`, `cache`, `storage`, `network`, `exports`);
the selected environment must provide each, or the scenario is refused before it starts.
"""

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import ClassVar, TypeVar

from drillbook.checks import CheckResult, rto
from drillbook.checks.spot import sampled
from drillbook.draws import Draw, sample
from drillbook.drill import Drill
from drillbook.profile import Profile
from drillbook.spot_check import SampleCheck

T = TypeVar("T")

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


def client_timeout(profile: Profile) -> float:
    return profile.workload["probe_timeout_ms"] / 1000


def rto_now(
    drill: Drill,
    profile: Profile,
    threshold_s: float,
    prefix: str = "probe:",
    since: float | None = None,
    until: float | None = None,
) -> CheckResult:
    """The RTO of the probes whose process starts with `prefix`, with the profile's window,
    from T0 or from `since`, over the probes invoked before `until` if given."""
    return rto(
        drill.history,
        drill.require_t0() if since is None else since,
        threshold_s,
        processes_prefix=prefix,
        window_s=profile.workload["window_s"],
        min_requests=profile.workload["window_requests"],
        until=until,
    )


@dataclass(frozen=True)
class DatabaseInUse:
    """The database instance the service and the drill's clients use; a switch moves it."""

    PROVIDED_BY: ClassVar[str] = "a writer or SQL probe (Given a writer commits numbered rows ...)"
    name: str


@dataclass(frozen=True)
class CacheInUse:
    """The Redis node the service and the drill's clients use; a switch moves it."""

    PROVIDED_BY: ClassVar[str] = "a Redis client (Given a Redis writer acknowledges ...)"
    node: str


def database_in_use(drill: Drill, primary_zone: str) -> str:
    """The instance the service's clients use: the primary zone until a switch moves it."""
    if not drill.knows(DatabaseInUse):
        drill.remember(DatabaseInUse(primary_zone))
    return drill.recall(DatabaseInUse).name


def cache_in_use(drill: Drill) -> str:
    """The Redis node the service's clients use: the primary until a switch moves it."""
    if not drill.knows(CacheInUse):
        drill.remember(CacheInUse("primary"))
    return drill.recall(CacheInUse).node


def spot_check_sample(
    drill: Drill,
    progress: Callable[[str], None],
    seed: int,
    n: int,
    spec: SampleCheck,
    population: Mapping[str, T],
    verify: Callable[[T], str | None],
) -> None:
    """A spot check by random sample (plan 4.3): `n` items of `population` (key -> item)
    drawn with the session's seed, each verified (`verify` says what is wrong, None: nothing);
    the draw and the line of the spot-check record are written whatever the verdict."""
    if n < 1:
        raise ValueError(f"a spot check draws at least 1 {spec.unit}, not {n}")
    what = f"{spec.check} ({drill.scenario})"
    drawn = sample(seed, what, list(population), n)
    draw = Draw(what, seed, ", ".join(drawn) or "none", f"{len(population)} {spec.unit}")
    drill.drew(draw)
    progress(f"drew {draw}")
    result = sampled(
        spec.check, spec.unit, len(population), {k: verify(population[k]) for k in drawn}
    )
    wrong = result.figure if result.measured else None
    drill.spot_checked(spec.line(time.time(), len(population), len(drawn), wrong))
    drill.verdict(result)
