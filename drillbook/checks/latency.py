"""Latency percentiles of probe operations, against a baseline or an absolute limit.

Only successful ("ok") operations count: a request refused at once by a broken dependency is
fast, and counting it would make the P95 look better exactly when the service is worse.
Failures are measured by the SLA and RTO checks instead.

Percentiles are nearest-rank: the p-th percentile of n sorted latencies is the one at rank
ceil(p/100 * n) (1-based), always a latency that was actually observed.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from itertools import chain

from drillbook.checks.result import CheckResult, not_measured, number
from drillbook.checks.sla import describe_window, window_ops
from drillbook.workload.history import History, Op

DEFINITION = "nearest-rank percentile of successful operations"
BOOTSTRAP = "ratio judged on the lower bound of its one-sided 95% bootstrap confidence interval"
# A P95 from fewer latencies is one of its five largest values: too few to compare.
MIN_SAMPLES = 100
RESAMPLES = 2000
# The unit of a P95 compared with the baseline's: the ratio of the two.
RATIO = "× baseline"
# A measured window of the history: (start, end), epoch seconds
Window = tuple[float, float]


def nearest_rank(sorted_values: list[float], p: float) -> float:
    """The p-th percentile (0 < p <= 100) of a non-empty ascending list, by nearest rank."""
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def percentiles(
    history: History,
    *,
    prefix: str = "probe:",
    start: float | None = None,
    end: float | None = None,
) -> dict:
    """p50, p95, p99 latency in seconds (None without a successful operation) and their count,
    of the `prefix` operations invoked in [start, end]."""
    latencies = _successful_latencies(history, prefix, start, end)
    figures = {f"p{p}": nearest_rank(latencies, p) if latencies else None for p in (50, 95, 99)}
    return {**figures, "count": len(latencies)}


def p95_vs_baseline(
    history: History,
    prefix: str,
    baselines: Sequence[Window],
    windows: Sequence[Window],
    max_pct: float,
    host_cpu_busy: tuple[float | None, float | None] = (None, None),
) -> CheckResult:
    """P95 during the drill `windows` as a ratio of the P95 during the `baselines` (0.977 ×
    baseline: 2.3% faster), against `max_pct` percent of the baseline (110 is a threshold of
    1.1). `host_cpu_busy`: how busy the harness's host was in each, when known, stated with
    the figure (a host busier during the drill slows the probes, not the service).

    Two windows of a few hundred latencies differ in their P95 by chance alone, by 10% or
    more on a busy machine. The check fails only when the drill's P95 is above the threshold
    beyond that sampling noise: when even the lower bound of a one-sided 95% bootstrap
    confidence interval of the ratio is above it. The figure is the observed ratio; the
    interval is stated with it.

    The bootstrap knows only the noise within the windows. A busy host also drifts between
    them, by 20% in 12 s, which a baseline taken only before the drill cannot tell from an
    effect of the fault: baselines on both sides of the drill's windows (before the fault and
    once it is taken back, each side pooled) put the same drift into both sides of the ratio.
    Each window's own P95 is stated with the figure.
    """
    name = _name(prefix)
    limit = max_pct / 100
    each_before = [_successful_latencies(history, prefix, *span) for span in baselines]
    each_during = [_successful_latencies(history, prefix, *span) for span in windows]
    before, during = sorted(chain(*each_before)), sorted(chain(*each_during))
    details: dict = {
        "definition": f"{DEFINITION}; {BOOTSTRAP}",
        "baseline_windows": [list(span) for span in baselines],
        "drill_windows": [list(span) for span in windows],
        "baseline_count": len(before),
        "drill_count": len(during),
        "baseline_p95_ms": _p95_ms(before),
        "drill_p95_ms": _p95_ms(during),
        "window_p95_ms": {
            "baseline": [_p95_ms(latencies) for latencies in each_before],
            "drill": [_p95_ms(latencies) for latencies in each_during],
        },
        "host_cpu_busy": {"baseline": host_cpu_busy[0], "drill": host_cpu_busy[1]},
    }
    threshold = f"{number(limit)} {RATIO}"
    for latencies, which, spans in ((before, "baseline", baselines), (during, "drill", windows)):
        if len(latencies) < MIN_SAMPLES:
            where = "; ".join(describe_window(*span) for span in spans) or "none measured"
            return not_measured(
                name,
                RATIO,
                limit,
                f"{len(latencies)} successful operations of {prefix}* in the {which} "
                f"window{'s' if len(spans) > 1 else ''} ({where}), a P95 comparison needs at "
                f"least {MIN_SAMPLES}: probe more often or measure for longer",
                details,
            )
    base_p95, drill_p95 = nearest_rank(before, 95), nearest_rank(during, 95)
    if base_p95 <= 0:
        return not_measured(name, RATIO, limit, "baseline P95 is 0 s", details)
    ratio = drill_p95 / base_p95
    low, high = ratio_interval(before, during)
    details["ratio_interval"] = [round(low, 3), round(high, 3)]
    passed = low <= limit
    measured = (
        f"{drill_p95 * 1000:.1f} ms over {len(during)} successful operations during the drill "
        f"against {base_p95 * 1000:.1f} ms over {len(before)} at baseline; the 90% bootstrap "
        f"interval of the ratio is {low:.3f}–{high:.3f} {RATIO}"
    )
    if not passed:
        verdict = f"> {threshold} beyond sampling noise (its lower bound is above)"
    elif ratio > limit:
        verdict = f"is within sampling noise of {threshold} (its lower bound is not above)"
    else:
        verdict = f"≤ {threshold}"
    explanation = f"{name} {ratio:.3f} {RATIO} {verdict}: {measured}"
    if len(baselines) > 1 or len(windows) > 1:
        per_window = details["window_p95_ms"]
        explanation += (
            f"; the P95 of each window: baseline {_listed(per_window['baseline'])} ms, "
            f"drill {_listed(per_window['drill'])} ms"
        )
    if None not in host_cpu_busy:
        explanation += (
            f"; the harness's host was {host_cpu_busy[0]:.0%} busy at baseline and "
            f"{host_cpu_busy[1]:.0%} during the drill"
        )
    return CheckResult(name, round(ratio, 3), RATIO, limit, passed, explanation, details)


def ratio_interval(
    before: list[float], during: list[float], *, resamples: int = RESAMPLES
) -> tuple[float, float]:
    """The 5th and 95th percentile of the ratio P95(during)/P95(before) over bootstrap resamples
    of both windows, with a fixed seed so the same history always gives the same verdict."""
    rng = random.Random(0)

    def resampled_p95(latencies: list[float]) -> float:
        return nearest_rank(sorted(rng.choices(latencies, k=len(latencies))), 95)

    ratios = sorted(
        resampled_p95(during) / max(resampled_p95(before), 1e-9) for _ in range(resamples)
    )
    return nearest_rank(ratios, 5), nearest_rank(ratios, 95)


def p95_at_most(
    history: History,
    prefix: str,
    limit_s: float,
    *,
    start: float | None = None,
    end: float | None = None,
) -> CheckResult:
    """P95 latency in seconds of the `prefix` operations invoked in [start, end] ≤ `limit_s`
    (seed section 2 alerts on P95 > 2.5 s)."""
    name = _name(prefix)
    latencies = _successful_latencies(history, prefix, start, end)
    window = describe_window(start, end)
    details: dict = {"definition": DEFINITION, "start": start, "end": end, "count": len(latencies)}
    if not latencies:
        invoked = len(window_ops(history, prefix, start, end))
        details["operations"] = invoked
        why = (
            f"none of the {invoked} operations of {prefix}* {window} succeeded"
            if invoked
            else f"no operation of {prefix}* was invoked {window}"
        )
        return not_measured(name, "s", limit_s, why, details)
    figure = nearest_rank(latencies, 95)
    passed = figure <= limit_s
    explanation = (
        f"{name} {figure:.3f} s {'≤' if passed else '>'} {number(limit_s)} s over "
        f"{len(latencies)} successful operations {window}"
    )
    return CheckResult(name, figure, "s", limit_s, passed, explanation, details)


def _successful_latencies(
    history: History, prefix: str, start: float | None, end: float | None
) -> list[float]:
    return sorted(
        op.latency for op in window_ops(history, prefix, start, end) if op.outcome == "ok"
    )


def _name(prefix: str) -> str:
    return f"P95 {_endpoint(prefix)}"


def _endpoint(prefix: str) -> str:
    """What a probe prefix names: "probe:/lookup" is the endpoint "/lookup"."""
    return prefix.removeprefix("probe:") or prefix


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


def _p95_ms(sorted_latencies: list[float]) -> float | None:
    return _ms(nearest_rank(sorted_latencies, 95)) if sorted_latencies else None


def _listed(figures_ms: list[float | None]) -> str:
    return ", ".join("none" if ms is None else f"{ms:.1f}" for ms in figures_ms)


def answered_within(
    history: History,
    prefix: str,
    limit_s: float,
    *,
    start: float | None = None,
    end: float | None = None,
) -> CheckResult:
    """Every `prefix` request invoked in [start, end] answered, successfully, within `limit_s`
    (the plan's `POST /exports` ≤5 s). The figure is the slowest request of all, failed and
    timed-out ones included: a request that got no successful answer was not answered in time.
    """
    name = f"max latency {_endpoint(prefix)}"
    ops = window_ops(history, prefix, start, end)
    window = describe_window(start, end)
    if not ops:
        why = f"no request of {prefix}* was invoked {window}"
        return not_measured(name, "s", limit_s, why, {"requests": 0})
    slowest = max(ops, key=lambda op: op.latency)
    late = [op for op in ops if op.latency > limit_s]
    unanswered = [op for op in ops if op.outcome != "ok"]
    figure = slowest.latency
    passed = not late and not unanswered
    details = {
        "requests": len(ops),
        "slower_than_limit": len(late),
        "without_successful_answer": len(unanswered),
        "slowest_at": slowest.start,
        "first_problems": [
            {"at": op.start, "latency_s": op.latency, "outcome": op.outcome, "error": op.error}
            for op in sorted({id(op): op for op in late + unanswered}.values(), key=_started)[:10]
        ],
    }
    explanation = (
        f"{name} {figure:.3f} s {'≤' if figure <= limit_s else '>'} {number(limit_s)} s over "
        f"{len(ops)} requests {window}: {len(late)} slower than the limit, "
        f"{len(unanswered)} without a successful answer"
    )
    return CheckResult(name, figure, "s", limit_s, passed, explanation, details)


def _started(op: Op) -> float:
    return op.start
