"""Runbook 5.2's pre-check `aws s3api get-bucket-replication`: the status must be Enabled."""

from __future__ import annotations

from drillbook.checks.result import CheckResult


def replication_enabled(bucket: str, configuration: dict | None) -> CheckResult:
    """Enabled when the bucket has replication rules and every rule is Enabled: one disabled
    rule leaves part of the bucket unreplicated. A bucket without a replication configuration
    (None) fails with no rule Enabled."""
    rules = (configuration or {}).get("Rules") or []
    ids = [rule.get("ID", f"rule {n}") for n, rule in enumerate(rules, 1)]
    enabled = [i for i, rule in zip(ids, rules, strict=True) if rule.get("Status") == "Enabled"]
    disabled = [i for i in ids if i not in enabled]
    if configuration is None:
        explanation = f"{bucket} has no replication configuration"
    elif not rules:
        explanation = f"{bucket} has a replication configuration with no rule"
    elif disabled:
        explanation = f"{bucket}: rules not Enabled: {', '.join(disabled)}"
    else:
        explanation = f"{bucket}: every rule Enabled ({', '.join(enabled)})"
    passed = bool(rules) and not disabled
    return CheckResult(
        name=f"replication of {bucket}",
        figure=len(enabled),
        unit="rules Enabled",
        threshold=max(len(rules), 1),
        passed=passed,
        explanation=explanation,
        details={"configuration": configuration},
        note="Enabled" if passed else "Disabled",
    )
