"""The nightly staging pipelines and the tox env `drills-staging` run what this repository has.

They run at night and against staging only, so a misspelt option, a path that moved, a variable
the staging profile needs but the pipeline does not pass, or evidence not kept would first show
there. These tests read the GitHub Actions workflow, the GitLab CI job and tox.ini as data and
check them against the repository: the schedule; every command (pytest options registered by the
harness or its plugins, make targets, `python -m` modules, paths); the preflight before the
non-destructive drills; the staging profile's variables supplied from secrets; the report, the
ledger and the JUnit XML kept as artifacts when a drill fails too; and a failed drill failing
the job.
"""

from __future__ import annotations

import ast
import configparser
import fnmatch
import importlib.util
import os
import re
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
GITHUB = ROOT / ".github" / "workflows" / "nightly-staging.yml"
GITLAB = ROOT / "ci" / "gitlab-nightly-staging.yml"
GITLAB_JOB = "nightly-staging"
TOX_ENV = "testenv:drills-staging"
STAGING = "environments/staging.yaml"
# The options of the live environments that the pipelines and the README rely on: listed so
# that this test fails, naming the option, until the harness registers it.
REQUIRED_OPTIONS = ("--dr-env", "--dr-preflight", "--dr-dry-run")
# Where the evidence lands with the default --dr-reports: the ledger folder
# (drillbook/drill_record.py) and the single-file report (python -m drillbook.report).
LEDGER = "reports/ledger"
REPORT = "reports/allure-report/index.html"
# Made by the pipeline itself (the install steps, the drills): absent from a checkout.
GENERATED = (".venv/", "node_modules/", "reports/")
PATH_SUFFIXES = (".yaml", ".yml", ".sh", ".mjs", ".json", ".toml", ".ini", ".feature", ".py")
ENV_REF = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)\}")
SECRET = re.compile(r"^\$\{\{\s*secrets\.[A-Za-z_][A-Za-z0-9_]*\s*\}\}$")
GITHUB_ENV_LINE = re.compile(r'^\s*echo\s+"?([A-Z_][A-Z0-9_]*)=.*>>\s*"?\$GITHUB_ENV', re.MULTILINE)
ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
SEPARATORS = {";", "&&", "||", "|", "&"}
SWALLOWED = re.compile(r"\|\|\s*(?:true|:|exit 0)(?:\s|;|$)", re.MULTILINE)
TOX_SUBSTITUTION = re.compile(r"\{(\[[^\]]+\][\w-]+|env:[^:}]+(?::[^}]*)?|posargs)\}")
ALWAYS = ("always()", "${{ always() }}")


@dataclass(frozen=True)
class Pipeline:
    """What a CI file runs and keeps, read the same way for either CI."""

    scripts: list[str]  # every shell script it runs, in order
    artifacts: list[str]
    artifacts_always: bool
    may_fail: bool  # continue-on-error / allow_failure

    def commands(self) -> list[list[str]]:
        return [command for script in self.scripts for command in simple_commands(script)]


def read_yaml(path: Path) -> dict[str, Any]:
    assert path.is_file(), f"{path} is missing"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), f"{path}: not a mapping"
    return data


def github_steps() -> list[dict[str, Any]]:
    """Every step of the workflow, its `env` merged over the job's and the workflow's."""
    data = read_yaml(GITHUB)
    steps = []
    for job in data["jobs"].values():
        for step in job["steps"]:
            env = {**data.get("env", {}), **job.get("env", {}), **step.get("env", {})}
            steps.append({**step, "env": env, "job": job})
    return steps


def github_pipeline() -> Pipeline:
    steps = github_steps()
    uploads = [s for s in steps if str(s.get("uses", "")).startswith("actions/upload-artifact@")]
    return Pipeline(
        scripts=[step["run"] for step in steps if "run" in step],
        artifacts=[line for step in uploads for line in step["with"]["path"].split()],
        artifacts_always=bool(uploads) and all(step.get("if") in ALWAYS for step in uploads),
        may_fail=any(
            s.get("continue-on-error") or s["job"].get("continue-on-error") for s in steps
        ),
    )


def gitlab_job() -> dict[str, Any]:
    data = read_yaml(GITLAB)
    assert GITLAB_JOB in data, f"{GITLAB}: no job '{GITLAB_JOB}'"
    return data[GITLAB_JOB]


def gitlab_pipeline() -> Pipeline:
    job = gitlab_job()
    artifacts = job.get("artifacts", {})
    return Pipeline(
        scripts=[*job.get("before_script", []), *job["script"], *job.get("after_script", [])],
        artifacts=artifacts.get("paths", []),
        artifacts_always=artifacts.get("when") == "always",
        may_fail=bool(job.get("allow_failure")),
    )


def tox_env() -> dict[str, str]:
    """The drills-staging env of tox.ini over the [testenv] it inherits from, its
    substitutions resolved as tox would with no environment variable set and no positional
    arguments."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(ROOT / "tox.ini", encoding="utf-8")
    assert parser.has_section(TOX_ENV), f"tox.ini: no [{TOX_ENV}]"
    inherited = dict(parser["testenv"]) if parser.has_section("testenv") else {}
    settings = {**inherited, **parser[TOX_ENV]}
    return {key: tox_value(parser, value) for key, value in settings.items()}


def tox_value(parser: configparser.ConfigParser, value: str) -> str:
    def substitute(match: re.Match[str]) -> str:
        ref = match.group(1)
        if ref == "posargs":
            return ""
        if ref.startswith("env:"):
            return ref[len("env:") :].partition(":")[2]
        section, key = ref[1:].split("]")
        return tox_value(parser, parser[section][key])

    return TOX_SUBSTITUTION.sub(substitute, value)


def tox_scripts() -> list[str]:
    return tox_env()["commands"].splitlines()


SOURCES = {
    "github": lambda: github_pipeline().scripts,
    "gitlab": lambda: gitlab_pipeline().scripts,
    "tox": tox_scripts,
}
PIPELINES = {"github": github_pipeline, "gitlab": gitlab_pipeline}


def simple_commands(script: str) -> list[list[str]]:
    """The simple commands of a shell script as argv lists: lines joined at a trailing
    backslash, split at ; && || | &, leading VAR=value assignments dropped."""
    found = []
    for line in script.replace("\\\n", " ").splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        command: list[str] = []
        for token in [*lexer, ";"]:
            if token in SEPARATORS:
                if command:
                    found.append(command)
                command = []
            elif command or not ASSIGNMENT.match(token):
                command.append(token)
    return found


def pytest_args(command: list[str]) -> list[str] | None:
    """The arguments of `pytest ARGS` or `python -m pytest ARGS`; None for another command."""
    program = Path(command[0]).name
    if program == "pytest":
        return command[1:]
    if program.startswith("python") and command[1:3] == ["-m", "pytest"]:
        return command[3:]
    return None


def option_value(command: list[str], option: str) -> str | None:
    """The value of `option` (`--opt VALUE` or `--opt=VALUE`; the last one given wins, as in
    argparse), for pytest after `-m pytest`."""
    args = pytest_args(command)
    tokens = command if args is None else args
    value = None
    for i, token in enumerate(tokens):
        if token == option and i + 1 < len(tokens):
            value = tokens[i + 1]
        elif token.startswith(f"{option}="):
            value = token.partition("=")[2]
    return value


def pytest_command(commands: list[list[str]], option: str) -> list[str]:
    """The first pytest command passing `option` (a flag, or with a value)."""
    matches = [
        argv
        for argv in commands
        if any(t == option or t.startswith(f"{option}=") for t in pytest_args(argv) or [])
    ]
    assert matches, f"no pytest command passes {option}"
    return matches[0]


def python_module(command: list[str]) -> str | None:
    """MODULE of `python -m MODULE ...`."""
    if Path(command[0]).name.startswith("python") and command[1:2] == ["-m"] and command[2:]:
        return command[2]
    return None


@cache
def project_options() -> frozenset[str]:
    """The options this project registers: the arguments of every `addoption` call in the root
    conftest.py and the plugin and library packages, string literals or module constants."""
    files = [ROOT / "conftest.py"]
    files += [
        p for package in ("fixtures", "steps", "drillbook") for p in (ROOT / package).rglob("*.py")
    ]
    options: set[str] = set()
    for path in files:
        module = ast.parse(path.read_text(encoding="utf-8"), str(path))
        constants = module_constants(module)
        for node in ast.walk(module):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "addoption":
                options.update(
                    arg.value if isinstance(arg, ast.Constant) else constants.get(arg.id, "")
                    for arg in node.args
                    if isinstance(arg, ast.Constant | ast.Name)
                )
    return frozenset(option for option in options if isinstance(option, str) and option)


def module_constants(module: ast.Module) -> dict[str, str]:
    """`NAME = "text"` assignments at the top of a module."""
    return {
        target.id: node.value.value
        for node in module.body
        if isinstance(node, ast.Assign)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
        for target in node.targets
        if isinstance(target, ast.Name)
    }


@cache
def plugin_options() -> frozenset[str]:
    """The options of pytest and its installed plugins (pytest-bdd, Allure, pytest-timeout):
    `pytest --help` run in an empty folder, so that no conftest of this project is loaded."""
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"}
    with tempfile.TemporaryDirectory() as empty:
        (Path(empty) / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
        helped = subprocess.run(
            [sys.executable, "-m", "pytest", "--help", "-p", "no:cacheprovider"],
            cwd=empty,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
    return frozenset(re.findall(r"(?<![\w-])(--?[A-Za-z][\w-]*)", helped.stdout))


def is_registered(option: str) -> bool:
    """Registered by this project or a plugin. pytest's help shows, of two long options equal
    but for dashes, only the longer one (`--junit-xml`, not `--junitxml`)."""
    if option in project_options() or option in plugin_options():
        return True
    return any(
        len(shown) > len(option) and undashed(shown) == undashed(option)
        for shown in plugin_options()
    )


def undashed(option: str) -> str:
    return option.replace("-", "")


def makefile_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    return set(re.findall(r"^([A-Za-z][\w.-]*)\s*:(?!=)", text, re.MULTILINE))


def missing_things(command: list[str]) -> Iterator[str]:
    """What a command names that is not there: a make target, a module, a path."""
    if Path(command[0]).name == "make":
        targets = [t for t in command[1:] if not t.startswith("-") and "=" not in t]
        yield from (f"make target {t}" for t in targets if t not in makefile_targets())
    module = python_module(command)
    if module is not None and not runnable_module(module):
        yield f"python module {module}"
    for token in command:
        if (
            looks_like_path(token)
            and not token.startswith(GENERATED)
            and not (ROOT / token).exists()
        ):
            yield f"path {token}"


def runnable_module(module: str) -> bool:
    spec = importlib.util.find_spec(module)
    if spec is None:
        return False
    # a package runs as `python -m` only with a __main__
    return spec.submodule_search_locations is None or bool(
        importlib.util.find_spec(f"{module}.__main__")
    )


def looks_like_path(token: str) -> bool:
    if token.startswith(("-", "$")) or "://" in token or "@" in token:
        return False
    if not re.fullmatch(r"[\w.][\w./-]*", token):
        return False
    return "/" in token or token.endswith(PATH_SUFFIXES)


def profile_variables() -> set[str]:
    """Every ${VAR} that a value of the staging profile references."""
    found: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)
        elif isinstance(value, str):
            found.update(ENV_REF.findall(value))

    walk(read_yaml(ROOT / STAGING))
    assert found, f"{STAGING} references no ${{VAR}}: nothing to check"
    return found


def normalised(path: str) -> str:
    return path.rstrip("/")


def test_github_runs_nightly_and_by_hand() -> None:
    data = read_yaml(GITHUB)
    on = data.get("on", data.get(True))  # YAML 1.1 reads the bare key `on` as true
    crons = [entry["cron"] for entry in on.get("schedule", [])]
    assert crons, f"{GITHUB}: no schedule"
    assert all(len(cron.split()) == 5 for cron in crons), crons
    assert "workflow_dispatch" in on, f"{GITHUB}: cannot be run by hand"


def test_gitlab_runs_on_schedule_and_by_hand_only() -> None:
    rules = gitlab_job().get("rules", [])
    sources = {
        match.group(1)
        for rule in rules
        for match in [re.fullmatch(r'\$CI_PIPELINE_SOURCE\s*==\s*"(\w+)"', rule.get("if", ""))]
        if match
    }
    assert len(sources) == len(rules), f"{GITLAB}: a rule that is not a pipeline source: {rules}"
    assert sources == {"schedule", "web"}, f"{GITLAB}: runs on {sorted(sources)}"


def test_live_environment_options_are_registered() -> None:
    missing = [option for option in REQUIRED_OPTIONS if option not in project_options()]
    assert not missing, f"options not registered by the harness: {missing}"


@pytest.mark.parametrize("source", SOURCES)
def test_pytest_options_are_registered(source: str) -> None:
    options = {
        token.partition("=")[0]
        for script in SOURCES[source]()
        for argv in simple_commands(script)
        for token in pytest_args(argv) or []
        if token.startswith("-")
    }
    unknown = sorted(option for option in options if not is_registered(option))
    assert not unknown, f"{source}: pytest options no plugin registers: {unknown}"


@pytest.mark.parametrize("source", SOURCES)
def test_commands_name_what_exists(source: str) -> None:
    missing = [
        f"{' '.join(argv)}: {thing}"
        for script in SOURCES[source]()
        for argv in simple_commands(script)
        for thing in missing_things(argv)
    ]
    assert not missing, f"{source}: " + "\n".join(missing)


@pytest.mark.parametrize("name", PIPELINES)
def test_preflight_then_the_non_destructive_drills_of_staging(name: str) -> None:
    commands = PIPELINES[name]().commands()
    preflight = pytest_command(commands, "--dr-preflight")
    drills = pytest_command(commands, "--junitxml")
    assert commands.index(preflight) < commands.index(drills), f"{name}: drills before preflight"
    for argv in (preflight, drills):
        assert option_value(argv, "--dr-env") == STAGING, argv
        assert option_value(argv, "-m") == "not destructive", argv
        assert "features/" in argv, argv


@pytest.mark.parametrize("name", PIPELINES)
def test_report_ledger_and_junit_are_kept_when_a_drill_fails(name: str) -> None:
    pipeline = PIPELINES[name]()
    commands = pipeline.commands()
    drills = pytest_command(commands, "--junitxml")
    reports = [argv for argv in commands if python_module(argv) == "drillbook.report"]
    assert reports, f"{name}: the report is never generated"
    results = option_value(reports[0], "--results") or "reports/allure-results"
    assert option_value(drills, "--alluredir") == results, f"{name}: report reads other results"
    kept = {normalised(path) for path in pipeline.artifacts}
    expected = {LEDGER, REPORT, normalised(option_value(drills, "--junitxml") or "")}
    assert expected <= kept, f"{name}: not kept as artifacts: {sorted(expected - kept)}"
    assert pipeline.artifacts_always, f"{name}: artifacts are not kept when a drill fails"


def test_gitlab_reads_the_junit_report() -> None:
    drills = pytest_command(gitlab_pipeline().commands(), "--junitxml")
    junit = gitlab_job()["artifacts"].get("reports", {}).get("junit")
    assert junit == option_value(drills, "--junitxml")


@pytest.mark.parametrize("name", PIPELINES)
def test_a_failed_drill_fails_the_job(name: str) -> None:
    pipeline = PIPELINES[name]()
    assert not pipeline.may_fail, f"{name}: the job is allowed to fail"
    swallowed = [script for script in pipeline.scripts if SWALLOWED.search(script)]
    assert not swallowed, f"{name}: a failure is swallowed in {swallowed}"


def test_github_passes_every_staging_variable_from_secrets() -> None:
    """Each ${VAR} of the profile is in the env of every step that drills staging, from a
    secret, or written to $GITHUB_ENV by an earlier step that reads a secret (the path of a
    file the secret holds, such as a kubeconfig)."""
    written: set[str] = set()
    drilling = 0
    for step in github_steps():
        from_secrets = {name for name, value in step["env"].items() if SECRET.match(str(value))}
        run = step.get("run", "")
        if any(option_value(argv, "--dr-env") == STAGING for argv in simple_commands(run)):
            drilling += 1
            missing = sorted(profile_variables() - from_secrets - written)
            assert not missing, f"{GITHUB}: step '{step.get('name')}' lacks secrets {missing}"
        elif from_secrets:
            written |= set(GITHUB_ENV_LINE.findall(run))
    assert drilling, f"{GITHUB}: no step drills {STAGING}"


def test_tox_drills_staging() -> None:
    env = tox_env()
    (drills,) = [argv for line in env["commands"].splitlines() for argv in simple_commands(line)]
    assert option_value(drills, "--dr-env") == STAGING
    assert option_value(drills, "-m") == "not destructive"
    junit, results = option_value(drills, "--junitxml"), option_value(drills, "--alluredir")
    assert junit and results and Path(junit).parent == Path(results).parent, drills
    patterns = [p.strip() for p in re.split(r"[,\n]", env.get("pass_env", "")) if p.strip()]
    missing = [
        v for v in profile_variables() if not any(fnmatch.fnmatchcase(v, p) for p in patterns)
    ]
    assert not missing, f"tox.ini [{TOX_ENV}] pass_env does not pass {sorted(missing)}"
