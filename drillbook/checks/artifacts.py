"""One artifact of object storage, by key: served in every region as the version that should be
there with the content it was written with (October drill: deleted by mistake, restored)."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING

from drillbook.checks.result import CheckResult, not_measured

if TYPE_CHECKING:
    from drillbook.objects import Current


def artifact_intact(
    key: str, version_id: str | None, sha256: str | None, found: dict[str, Current]
) -> CheckResult:
    """Every region of `found` (region -> the current version it serves) serves `version_id`
    with content `sha256`; the figure is the number of regions that do, the threshold all."""
    name = f"artifact {key}"
    if not found:
        return not_measured(name, "regions", 0, "no region was read")
    intact = [region for region, state in found.items() if state.matches(version_id, sha256)]
    listing = "; ".join(f"{region}: {state}" for region, state in found.items())
    passed = len(intact) == len(found)
    verdict = "has" if passed else "does not have"
    return CheckResult(
        name,
        len(intact),
        "regions",
        len(found),
        passed,
        f"artifact {key} {verdict} its original content (sha256 {sha256}) in "
        f"{len(intact)} of {len(found)} regions: {listing}",
        {
            "found": {region: asdict(state) for region, state in found.items()},
            "key": key,
            "version_id": version_id,
            "sha256": sha256,
        },
    )
