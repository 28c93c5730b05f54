"""Feature files run directly; a malformed one or an unknown step fails with file and line."""

import os
import re
import subprocess
from pathlib import Path

from drillbook.redrills import SUFFIX, draw_redrills, drawable
from tests.drills import ROOT, pytest_argv


def run_pytest(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        pytest_argv(Path(args[0]), Path(args[0] + ".reports"), *args[1:]),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


def feature(tmp_path: Path, text: str) -> str:
    path = tmp_path / "drill.feature"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_scenarios_of_a_feature_file_are_collected_with_tags_as_marks(tmp_path):
    path = feature(
        tmp_path,
        """@month_2
Feature: collection
  Scenario: first
    Given nothing
  @destructive
  Scenario: second
    Given nothing
""",
    )
    result = run_pytest(path, "--collect-only", "-q")
    assert "::test_first" in result.stdout
    assert "::test_second" in result.stdout
    marked = run_pytest(path, "--collect-only", "-q", "-m", "not destructive")
    assert "test_first" in marked.stdout and "test_second" not in marked.stdout


def test_malformed_feature_fails_collection_with_file_and_line(tmp_path):
    path = feature(tmp_path, "Feature: broken\n  Scenario: one\n    Given a step\n  Oops here\n")
    result = run_pytest(path, "-q")
    assert result.returncode != 0
    assert f"malformed feature file {path}:4:" in result.stdout


def test_unknown_step_names_text_file_line_and_closest_steps(tmp_path):
    path = feature(
        tmp_path,
        """Feature: typo
  Scenario: misspelt
    Given the workload has run for 2 secs
""",
    )
    result = run_pytest(path, "-q")
    assert result.returncode == 1
    out = result.stdout
    assert f"unknown step at {path}:3: 'Given the workload has run for 2 secs'" in out
    assert "closest known steps:" in out
    assert "the workload has run for {seconds:g} seconds" in out


def test_unregistered_tag_is_refused(tmp_path):
    path = feature(tmp_path, "@month_13\nFeature: t\n  Scenario: s\n    Given x\n")
    result = run_pytest(path, "--collect-only", "-q")
    assert result.returncode != 0
    assert "month_13" in result.stdout + result.stderr


def test_bad_environment_profile_is_a_usage_error(tmp_path):
    path = feature(tmp_path, "Feature: t\n  Scenario: s\n    Given x\n")
    result = run_pytest(path, "--dr-env", "nowhere", "-q")
    assert result.returncode == 4
    assert "bad environment profile" in result.stderr
    assert "no such environment 'nowhere'" in result.stderr


def test_destructive_scenario_is_refused_on_a_non_destructive_profile(tmp_path):
    text = "@destructive\nFeature: t\n  Scenario: s\n    Given the workload has run for 1 seconds\n"
    path = feature(tmp_path, text)
    staging = (ROOT / "environments" / "staging.yaml").read_text(encoding="utf-8")
    variables = re.findall(r"\$\{(\w+)\}", staging)
    env = os.environ | {name: "http://127.0.0.1:9/unused" for name in variables}
    result = run_pytest(path, "--dr-env", "staging", "-q", "-rs", env=env)
    assert "1 skipped" in result.stdout
    assert "staging.yaml says destructive: false" in result.stdout
    # and a run that drilled nothing fails (tested on its own below)
    assert result.returncode == 1, result.stdout


LIVE_PROFILE = """name: bare-staging
kind: live
destructive: false
runbook_url: https://wiki.example.com/dr
workload: {probe_timeout_ms: 1000, window_s: 1.0, window_requests: 20}
timeouts: {ready_s: 5}
live: {endpoints: {service: "http://127.0.0.1:9"}}
"""


def test_a_step_whose_capability_the_environment_lacks_is_refused_before_it_runs(tmp_path):
    profile = tmp_path / "bare.yaml"
    profile.write_text(LIVE_PROFILE, encoding="utf-8")
    path = feature(
        tmp_path,
        """Feature: live
  Scenario: needs a network
    Given the workload has run for 0 seconds
    When the network to "llm" is cut
""",
    )
    result = run_pytest(path, "--dr-env", str(profile), env={**os.environ, "PG": "x"})
    assert result.returncode != 0
    out = result.stdout
    assert f"step at {path}:4 'When the network to \"llm\" is cut' cannot run" in out
    assert "does not provide the capability 'network'" in out
    assert "'bare-staging' (live" in out
    assert "reverting fault" not in out and "starting the" not in out


def test_a_step_that_acts_after_the_first_then_is_refused_before_the_scenario_runs(tmp_path):
    path = feature(
        tmp_path,
        """Feature: phases
  Scenario: acts while observed
    Given the workload has run for 0 seconds
    Then the SLA over the drill is at least 99%
    When the workload runs for 1 more seconds
""",
    )
    result = run_pytest(path)
    assert result.returncode != 0
    assert f"step at {path}:5 'When the workload runs for 1 more seconds' acts" in result.stdout
    assert "after its observation began at line 4" in result.stdout
    assert "starting the" not in result.stdout


def test_a_wait_written_as_then_is_refused(tmp_path):
    path = feature(
        tmp_path,
        """Feature: phases
  Scenario: waits while observed
    Given the workload has run for 0 seconds
    Then within 5 seconds the probes succeed again
""",
    )
    result = run_pytest(path)
    assert result.returncode != 0
    assert "waits on the drill, but the first Then freezes the workload" in result.stdout


def test_a_run_that_drilled_nothing_fails_saying_why(tmp_path):
    path = feature(
        tmp_path,
        """Feature: nothing to drill
  @destructive
  Scenario: breaks things
    Given the workload has run for 0 seconds
""",
    )
    profile = tmp_path / "gentle.yaml"
    local = (ROOT / "environments" / "local.yaml").read_text(encoding="utf-8")
    profile.write_text(local.replace("destructive: true", "destructive: false"), encoding="utf-8")
    skipped = run_pytest(path, "--dr-env", str(profile))
    assert skipped.returncode == 1, skipped.stdout[-2000:]
    assert "no drill ran: 1 collected, 0 deselected, 1 skipped" in skipped.stdout
    assert "destructive: false" in skipped.stdout
    deselected = run_pytest(path, "-m", "not destructive")
    assert deselected.returncode != 0
    assert "no drill ran: 1 collected, 1 deselected, 0 skipped" in deselected.stdout


def test_drills_run_in_calendar_order_and_the_runbooks_and_signals_after_them(tmp_path):
    argv = pytest_argv(ROOT / "features", tmp_path / "reports", "--collect-only", "-q")
    listed = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=120)
    files = [line.split("::")[0] for line in listed.stdout.splitlines() if "::" in line]
    order = list(dict.fromkeys(Path(f).name for f in files))
    assert order[0] == "backup_matrix.feature", order  # the environment before any drill
    order = order[1:]
    months = [name for name in order if name[0].isdigit()]
    assert months == sorted(months, key=lambda name: int(name.partition("_")[0])), order
    after = order[len(months) :]
    assert order[: len(months)] == months, order
    assert any(name.startswith("runbook_") for name in after), order
    assert all(name.startswith(("runbook_", "signals_")) for name in after), order
    kinds = [name.split("_")[0] for name in after]
    assert kinds == sorted(kinds), order  # the runbooks, then the signals' own drills


def test_a_bad_seed_is_a_usage_error(tmp_path):
    path = feature(tmp_path, "Feature: t\n  Scenario: s\n    Given x\n")
    result = run_pytest(path, "--dr-seed", "tomorrow", "-q")
    assert result.returncode == 4
    assert "--dr-seed must be a non-negative integer, got 'tomorrow'" in result.stderr


def test_december_alone_runs_the_drills_its_seed_draws_just_before_it(tmp_path):
    december = ROOT / "features" / "12_annual_review.feature"
    argv = pytest_argv(december, tmp_path / "reports", "--dr-seed", "7", "--collect-only", "-q")
    listed = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=120)
    tests = [line for line in listed.stdout.splitlines() if "::" in line]
    drawn = draw_redrills(7, drawable(ROOT / "features")).features
    redrills = [t for t in tests if t.endswith(SUFFIX)]
    assert {Path(t.split("::")[0]).name for t in redrills} == {Path(f).name for f in drawn}
    assert tests[: len(redrills)] == redrills, tests
    assert all(t.startswith("features/12_annual_review.feature") for t in tests[len(redrills) :])
