"""An artifact served in every region as the version that should be there, with its original
content; no region read is not measured."""

from __future__ import annotations

from drillbook.checks.artifacts import artifact_intact
from drillbook.objects import Current

KEY = "exports/drill/report.json"


def test_every_region_serving_the_version_and_content_passes():
    found = {"primary": Current("v2", "h"), "dr": Current("v2", "h", "REPLICA")}
    result = artifact_intact(KEY, "v2", "h", found)
    assert result.passed and result.figure == 2 and result.threshold == 2
    assert "has its original content" in result.explanation


def test_a_region_with_other_content_an_older_version_or_no_answer_fails():
    found = {
        "primary": Current("v2", "h"),
        "dr": Current("v2", "other"),
        "old": Current("v1", "h"),
        "down": Current(error="EndpointConnectionError"),
    }
    result = artifact_intact(KEY, "v2", "h", found)
    assert result.verdict == "fail" and result.figure == 1 and result.threshold == 4
    assert "does not have its original content" in result.explanation
    assert "in 1 of 4 regions" in result.explanation and "unreadable" in result.explanation


def test_no_region_read_is_not_measured():
    result = artifact_intact(KEY, "v2", "h", {})
    assert result.verdict == "not measured" and not result.passed and result.figure is None
    assert result.explanation.endswith("no region was read")
