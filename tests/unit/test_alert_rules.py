"""The alert rules of the plan's monitoring signals (section 2): valid for Prometheus, each
firing and staying silent on synthetic series (promtool test rules), each carrying a runbook
link to a heading of the plan and a trace_id."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import yaml

from drillbook.drill_record import plan_anchor

ALERTS = Path(__file__).resolve().parents[2] / "environments" / "alerts"
RULES = ALERTS / "glancy.rules.yml"


def alerts() -> list[dict]:
    groups = yaml.safe_load(RULES.read_text(encoding="utf-8"))["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def promtool(*args: str) -> subprocess.CompletedProcess:
    binary = shutil.which("promtool")
    assert binary, "promtool is not installed: scripts/setup.sh installs Debian's prometheus"
    return subprocess.run([binary, *args], cwd=ALERTS, capture_output=True, text=True, timeout=60)


def test_promtool_accepts_the_rules():
    checked = promtool("check", "rules", RULES.name)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_each_alert_fires_past_its_threshold_and_not_before():
    tested = promtool("test", "rules", "glancy.rules.test.yml")
    assert tested.returncode == 0, tested.stdout + tested.stderr
    spec = yaml.safe_load((ALERTS / "glancy.rules.test.yml").read_text(encoding="utf-8"))
    cases = [case for test in spec["tests"] for case in test["alert_rule_test"]]
    for alert in alerts():
        outcomes = [bool(c["exp_alerts"]) for c in cases if c["alertname"] == alert["alert"]]
        assert True in outcomes and False in outcomes, f"{alert['alert']}: {outcomes}"


def test_every_alert_links_a_heading_of_the_plan_and_carries_a_trace_id():
    for alert in alerts():
        annotations = alert["annotations"]
        link = annotations["runbook_url"]
        path, anchor = link.split("#")
        assert path == "docs/dr-plan.zh.md", alert["alert"]
        section = re.match(r"\d+", anchor).group()
        sections = {section, f"{section[0]}.{section[1:]}"}
        assert anchor in {plan_anchor(s) for s in sections}, f"{alert['alert']}: {link}"
        assert "trace_id" in annotations["trace_id"], alert["alert"]
