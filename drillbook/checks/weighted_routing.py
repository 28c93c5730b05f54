"""Runbook 5.2's pre-check `aws route53 list-resource-record-sets`: the service's name has
weighted routing configured, so a cutover can move its traffic by moving weight."""

from __future__ import annotations

from drillbook.checks.result import CheckResult

# One region's record alone leaves the weight nowhere to go.
MIN_RECORDS = 2


def weighted_routing(name: str, records: list[dict]) -> CheckResult:
    """Configured when `name` has at least MIN_RECORDS weighted records (drillbook.platform.
    cloud's {"set_id", "weight", "ttl", "value"}), every one with a SetIdentifier and a value
    to send traffic to, and some weight above 0: with all weights 0 Route53 answers with
    every record alike, which is no routing anyone chose."""
    listed = "; ".join(
        f"{r['set_id']} -> {r['value']} weight {r['weight']} TTL {r['ttl']} s" for r in records
    )
    incomplete = [r.get("set_id") or "(no SetIdentifier)" for r in records if not _complete(r)]
    if len(records) < MIN_RECORDS:
        why = f"{name} has {len(records)} weighted record(s), a cutover needs {MIN_RECORDS}"
    elif incomplete:
        why = f"{name}: records without a SetIdentifier or a value: {', '.join(incomplete)}"
    elif not any(r["weight"] > 0 for r in records):
        why = f"{name}: every weight is 0"
    else:
        why = None
    return CheckResult(
        name=f"weighted routing of {name}",
        figure=len(records),
        unit="weighted records",
        threshold=MIN_RECORDS,
        passed=why is None,
        explanation=f"{why or f'{name} is weighted'}: {listed or 'no record'}",
        details={"records": records},
        note="configured" if why is None else "not configured",
    )


def _complete(record: dict) -> bool:
    return bool(record.get("set_id")) and bool(record.get("value"))
