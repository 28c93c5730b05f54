"""Alerts: did the plan's signal fire because of the fault, carry what a responder needs, and
clear once the service recovered (seed section 2). Pure functions of the notifications the
alerting system delivered, each with the instant it arrived."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from drillbook.checks.result import CheckResult, clock, not_measured, number
from drillbook.workload.history import History

FIRING, RESOLVED = "firing", "resolved"
# A W3C trace id: 32 lowercase hex digits, not all zero.
TRACE_ID = re.compile(r"^(?!0{32}$)[0-9a-f]{32}$")


@dataclass(frozen=True)
class AlertEvent:
    """One alert in one notification: an alert instance (its fingerprint) firing or resolved."""

    name: str
    status: str
    received_at: float
    starts_at: float
    fingerprint: str
    labels: dict
    annotations: dict


def alert_events(notifications: list[dict]) -> list[AlertEvent]:
    """The alerts of Alertmanager webhook payloads (each with `received_at` added), in the order
    they arrived."""
    events = [
        AlertEvent(
            name=alert["labels"].get("alertname", ""),
            status=alert["status"],
            received_at=payload["received_at"],
            starts_at=_epoch(alert["startsAt"]),
            fingerprint=alert.get("fingerprint") or repr(sorted(alert["labels"].items())),
            labels=alert["labels"],
            annotations=alert.get("annotations") or {},
        )
        for payload in notifications
        for alert in payload["alerts"]
    ]
    return sorted(events, key=lambda event: event.received_at)


def firing_spans(events: list[AlertEvent]) -> list[tuple[str, float, float | None]]:
    """Each alert instance's span: (its name and what it is about, when it began firing, when
    it was notified resolved or None while it still fires)."""
    spans: dict[str, tuple[str, float, float | None]] = {}
    for event in events:
        began = spans[event.fingerprint][1] if event.fingerprint in spans else event.starts_at
        ended = event.received_at if event.status == RESOLVED else None
        about = event.labels.get("endpoint") or event.labels.get("instance") or ""
        spans[event.fingerprint] = (f"{event.name} {about}".strip(), began, ended)
    return list(spans.values())


def _epoch(rfc3339: str) -> float:
    # Go writes up to nine fractional digits; Python reads six
    text = re.sub(r"(\.\d{6})\d+", r"\1", rfc3339.replace("Z", "+00:00"))
    return datetime.fromisoformat(text).timestamp()


def _caused(events: list[AlertEvent], name: str, fault_at: float) -> list[AlertEvent]:
    """The firings of `name` that began at or after the fault: one already firing before it
    says nothing about this fault."""
    return [
        event
        for event in events
        if event.name == name and event.status == FIRING and event.starts_at >= fault_at
    ]


def alert_fired(
    events: list[AlertEvent], name: str, fault_at: float, limit_s: float
) -> CheckResult:
    """Seconds from the fault until the first notification of `name` firing (an alert that
    began after the fault) reached the receiver, at most `limit_s`."""
    check = f"alert {name} fired"
    caused = _caused(events, name, fault_at)
    details: dict = {"fault_at": fault_at, "notifications": len(events)}
    if not caused:
        earlier = [e for e in events if e.name == name and e.status == FIRING]
        seen = sorted({e.name for e in events if e.status == FIRING})
        why = (
            f"it was already firing since {clock(earlier[0].starts_at)}, before the fault at "
            f"{clock(fault_at)}, so it says nothing of this fault"
            if earlier
            else f"no notification of it reached the receiver (alerts that fired: "
            f"{', '.join(seen) or 'none'})"
        )
        return CheckResult(
            check,
            None,
            "s",
            limit_s,
            False,
            f"{name} did not fire after the fault: {why}",
            details,
            note="did not fire",
        )
    first = caused[0]
    delay = first.received_at - fault_at
    details.update(fired_at=first.starts_at, received_at=first.received_at, labels=first.labels)
    passed = delay <= limit_s
    explanation = (
        f"{name} fired at {clock(first.starts_at)} and reached the receiver "
        f"{delay:.2f} s after the fault ({'≤' if passed else '>'} {number(limit_s)} s)"
    )
    return CheckResult(check, delay, "s", limit_s, passed, explanation, details)


def client_traces(history: History) -> set[str]:
    """The trace ids of the drill's requests: answered, failed or given up on (the service may
    have answered 5xx after the client's timeout), and of its own operations that carried one
    (a configuration release, which the replicas' check adopts)."""
    return {op.trace_id for op in history.ops() if op.trace_id}


def alert_annotated(
    events: list[AlertEvent], name: str, fault_at: float, client_traces: set[str]
) -> CheckResult:
    """The first firing of `name` after the fault carries a runbook link (to a section: an
    anchor) and a W3C trace id, as the plan requires of every alert: one of `client_traces`,
    the drill's requests, when the clients kept any (an earlier drill's request would send a
    responder to the wrong one). Which request it names is the rule's business (a 5xx for an
    error rate, a lookup that found Redis away, the request that queued the oldest waiting
    export, which may precede the fault): the check holds it to this drill's. The figure is
    the number of those two that are missing or wrong."""
    check = f"alert {name} annotated"
    caused = _caused(events, name, fault_at)
    if not caused:
        why = f"{name} did not fire after the fault, so it has no annotations to read"
        return not_measured(check, "missing", 0, why, {"notifications": len(events)})
    annotations = caused[0].annotations
    runbook = annotations.get("runbook_url", "")
    trace_id = annotations.get("trace_id", "")
    problems = []
    if "#" not in runbook.strip("#"):
        problems.append(f"runbook_url {runbook!r} names no section (no #anchor)")
    if not TRACE_ID.match(trace_id):
        problems.append(f"trace_id {trace_id!r} is not a W3C trace id (32 hex digits)")
    elif client_traces and trace_id not in client_traces:
        problems.append(
            f"trace_id {trace_id} is none of the {len(client_traces)} requests of this drill's "
            "clients"
        )
    details = {
        "annotations": annotations,
        "problems": problems,
        "client_traces": len(client_traces),
    }
    whose = (
        "a request of this drill's clients"
        if client_traces
        else "this drill's clients kept no trace id, so only its form is checked"
    )
    explanation = (
        "; ".join(problems)
        if problems
        else f"{name} links {runbook} and carries trace_id {trace_id} ({whose})"
    )
    return CheckResult(check, len(problems), "missing", 0, not problems, explanation, details)


def alert_resolved(
    events: list[AlertEvent],
    name: str,
    fault_at: float,
    recovered_at: float,
    limit_s: float,
    *,
    clients_until: float,
) -> CheckResult:
    """Seconds from the recovery until every instance of `name` that fired after the fault was
    notified resolved (its last notification), at most `limit_s`. A resolution that arrived
    after the clients stopped (`clients_until`) may be the silence of no traffic rather than a
    recovery (a rate over no requests has no value), so it does not count."""
    check = f"alert {name} resolved"
    fired = {event.fingerprint for event in _caused(events, name, fault_at)}
    details: dict = {"recovered_at": recovered_at, "clients_until": clients_until}
    if not fired:
        why = f"{name} did not fire after the fault, so there was nothing to resolve"
        return not_measured(check, "s", limit_s, why, details)
    last = {
        event.fingerprint: event
        for event in events
        if event.fingerprint in fired and event.received_at >= fault_at
    }
    firing = [event for event in last.values() if event.status != RESOLVED]
    if firing:
        labels = ", ".join(_shown(event.labels) for event in firing)
        return CheckResult(
            check,
            None,
            "s",
            limit_s,
            False,
            f"{len(firing)} of {len(last)} {name} alerts were still firing: {labels}",
            details,
            note="still firing",
        )
    resolved_at = max(event.received_at for event in last.values())
    details["resolved_at"] = resolved_at
    delay = resolved_at - recovered_at
    if resolved_at > clients_until:
        return CheckResult(
            check,
            delay,
            "s",
            limit_s,
            False,
            f"{name} resolved at {clock(resolved_at)}, after the clients stopped at "
            f"{clock(clients_until)}: with no traffic its expression has no value, so this "
            "may not be a recovery (wait for it while the clients run)",
            details,
        )
    passed = delay <= limit_s
    # a signal of one component (a node back up) can clear before the whole drill recovers
    when = f"{delay:.2f} s after" if delay >= 0 else f"{-delay:.2f} s before"
    explanation = (
        f"every {name} alert ({len(last)}) resolved {when} the recovery at "
        f"{clock(recovered_at)} ({'≤' if passed else '>'} {number(limit_s)} s)"
    )
    return CheckResult(check, delay, "s", limit_s, passed, explanation, details)


def _shown(labels: dict) -> str:
    shown = {k: v for k, v in labels.items() if k not in ("alertname", "severity", "domain")}
    return "{" + ", ".join(f"{k}={v}" for k, v in sorted(shown.items())) + "}"
