"""Live bindings: each fault and remediation of a live profile, bound to an action of its own.

The harness owns no process of a live environment, so it cannot kill a primary or promote a
standby itself: the profile says how (`live.bindings`), with the team's runbook commands, SQL on
a zone's node, an HTTP call, a Toxiproxy proxy, a Kubernetes or an AWS API operation. Every
action is checked when the profile loads (kinds, keys, placeholders, a fault's revert), can be
described for a dry run and checked by a preflight without acting, and is bounded by a timeout.

A binding's operation journals its revert as data naming the profile, the binding and its params
(the "live-binding" recover op), never an endpoint or a secret: a later run that recovers it
loads the profile again with its own environment variables and runs the revert.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit

import boto3
import botocore.exceptions
import httpx
import psycopg

from drillbook.capabilities.operation import Operation
from drillbook.commands import CommandLog
from drillbook.environments import Finding
from drillbook.environments.live.context import EndpointMissing, LiveContext
from drillbook.environments.live.operations import OPERATIONS, OperationSpec
from drillbook.faults.recover import recover_op
from drillbook.pgconnect import connect
from drillbook.profile import Data, ListOf, Name, Profile, ProfileError, load_profile, validate
from drillbook.toxiproxy import ToxiproxyClient, ToxiproxyError

RECOVER_OP = "live-binding"
OUTPUTS = ("text", "json")
# What an error shows of a failed command's stderr: its end, where the cause usually is.
STDERR_TAIL_CHARS = 2000
# How long a command killed at its timeout may take to release its output.
KILL_WAIT_S = 5.0
# `{param}`, but not the `${VAR}` of an environment variable.
PLACEHOLDER = re.compile(r"(?<!\$)\{([A-Za-z_][A-Za-z0-9_]*)\}")


class BindingError(RuntimeError):
    """An action of a binding failed; the message names the binding and what it ran."""


class MissingBinding(LookupError):
    """The profile binds no action to an operation a step needs."""


# --- templating: every string of an action may name the operation's params as {param} ---


def placeholders(text: str) -> list[str]:
    """The names of the `{param}` placeholders in `text`."""
    return PLACEHOLDER.findall(text)


def render(value: Any, params: Mapping[str, Any]) -> Any:
    """`value` with its placeholders replaced by `params`, in every string it holds. A string
    that is one placeholder alone becomes the param itself (a number stays a number); one not
    in `params` is kept as written, so a dry run can describe an action without every value.
    Only placeholders are touched: a resolved secret's braces stay as they are."""
    if isinstance(value, str):
        alone = PLACEHOLDER.fullmatch(value)
        if alone and alone[1] in params:
            return params[alone[1]]
        return PLACEHOLDER.sub(lambda m: str(params[m[1]]) if m[1] in params else m[0], value)
    if isinstance(value, list | tuple):
        return [render(v, params) for v in value]
    if isinstance(value, dict):
        return {k: render(v, params) for k, v in value.items()}
    return value


def _strings(value: Any, dotted: str) -> Iterator[tuple[str, str]]:
    """Every string `value` holds, with its dotted key."""
    if isinstance(value, str):
        yield dotted, value
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            yield from _strings(v, f"{dotted}[{i}]")
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(v, f"{dotted}.{k}")


def _check_placeholders(path: Path, where: str, values: dict[str, Any], operation: str) -> None:
    allowed = OPERATIONS[operation].params
    for dotted, text in _strings(values, where):
        for name in placeholders(text):
            if name not in allowed:
                params = ", ".join(f"{{{p}}}" for p in allowed) or "none"
                raise ProfileError(
                    path,
                    dotted,
                    f"placeholder {{{name}}} is not a param of {operation} (params: {params})",
                )


# --- actions ---


@dataclass(frozen=True, kw_only=True)
class Action(ABC):
    """One thing a binding does. `where` is its dotted key in the profile, for messages."""

    KIND: ClassVar[str]
    SCHEMA: ClassVar[dict[str, Any]]

    where: str = field(compare=False)
    timeout_s: float

    @abstractmethod
    def execute(self, params: Mapping[str, Any], context: LiveContext) -> Any:
        """Do it, bounded by `timeout_s`; raise BindingError naming the binding if it fails."""

    @abstractmethod
    def describe(self, params: Mapping[str, Any]) -> str:
        """One line for the dry run, e.g. "command: ./promote-standby.sh --kill az-a"."""

    @abstractmethod
    def preflight(self, context: LiveContext) -> list[Finding]:
        """What can be checked without acting: the program, the endpoint, the privilege."""

    def check(self, path: Path, endpoints: Mapping[str, Any]) -> None:
        """Refuse, when the profile loads, what the schema alone cannot see."""
        if self.timeout_s <= 0:
            raise ProfileError(path, f"{self.where}.timeout_s", "must be positive")

    def as_data(self) -> dict[str, Any]:
        """The resolved action as plain data, as it would be written in the profile."""
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "where"}
        return {"kind": self.KIND, **json.loads(json.dumps(data))}

    def _parsed(self, params: Mapping[str, Any], output: str, text: str) -> Any:
        """`text` as the action's `output` says: as it is, or parsed from JSON."""
        if output == "text":
            return text
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise self._failed(params, f"output is not JSON ({exc}): {text[-200:]!r}") from exc

    def _failed(self, params: Mapping[str, Any], problem: str) -> BindingError:
        return BindingError(f"{self.where} ({self.describe(params)}): {problem}")

    def _finding(self, what: str, problem: str | None, ok_detail: str) -> Finding:
        return Finding(f"{self.where}: {what}", problem is None, problem or ok_detail)

    def _log(self, context: LiveContext, command: str, output: Any, ok: bool) -> None:
        text = output if isinstance(output, str) else json.dumps(output, default=str, indent=2)
        context.commands.add(context.mask(f"[{self.where}] {command}"), context.mask(text), ok)


def _choice(path: Path, dotted: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ProfileError(path, dotted, f"must be one of {', '.join(choices)}, not {value!r}")


def _needs(path: Path, dotted: str, endpoints: Mapping[str, Any], key: str, kind: str) -> None:
    if key not in endpoints:
        raise ProfileError(path, dotted, f"a {kind} action needs live.endpoints.{key}")


@dataclass(frozen=True, kw_only=True)
class CommandAction(Action):
    """A program run without a shell, in the profile's folder, with the harness's environment."""

    KIND: ClassVar[str] = "command"
    SCHEMA: ClassVar[dict[str, Any]] = {
        "kind": (str, True),
        "argv": (ListOf(str), True),
        "timeout_s": (float, False),
        "output": (str, False),
    }
    argv: tuple[str, ...]
    timeout_s: float = 60.0
    output: str = "text"

    def check(self, path: Path, endpoints: Mapping[str, Any]) -> None:
        super().check(path, endpoints)
        if not self.argv:
            raise ProfileError(path, f"{self.where}.argv", "must name a program to run")
        _choice(path, f"{self.where}.output", self.output, OUTPUTS)

    def execute(self, params: Mapping[str, Any], context: LiveContext) -> Any:
        argv = self._argv(params)
        try:
            status, out, err = _run_bounded(argv, context.folder, self.timeout_s)
        except OSError as exc:
            self._log(context, shlex.join(argv), str(exc), False)
            raise self._failed(params, f"cannot run in {context.folder}: {exc}") from exc
        self._log(context, shlex.join(argv), _both(out, err), status == 0)
        if status is None:
            raise self._failed(
                params, f"killed after its timeout of {self.timeout_s:g} s{_tail(err)}"
            )
        if status != 0:
            raise self._failed(params, f"exit status {status}{_tail(err)}")
        return self._parsed(params, self.output, out)

    def describe(self, params: Mapping[str, Any]) -> str:
        return f"command: {shlex.join(self._argv(params))}"

    def preflight(self, context: LiveContext) -> list[Finding]:
        program = self.argv[0]
        if placeholders(program):
            return [self._finding(program, None, "templated: checked when it runs")]
        return [self._finding(program, _not_runnable(program, context.folder), "executable")]

    def _argv(self, params: Mapping[str, Any]) -> list[str]:
        return [str(arg) for arg in render(self.argv, params)]


def _run_bounded(argv: list[str], cwd: Path, timeout_s: float) -> tuple[int | None, str, str]:
    """(exit status, or None when killed at the timeout; stdout; stderr). The command gets a
    session of its own, so a timeout kills everything it started, not only itself: a child
    left holding its output would keep the harness waiting."""
    proc = subprocess.Popen(
        argv,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        errors="replace",
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=timeout_s)
        return proc.returncode, out, err
    except subprocess.TimeoutExpired:
        _kill_session(proc)
    except BaseException:  # interrupted (Ctrl-C, SIGTERM, a stop condition): its revert follows
        _kill_session(proc)
        proc.wait(timeout=KILL_WAIT_S)
        raise
    try:
        out, err = proc.communicate(timeout=KILL_WAIT_S)
    except subprocess.TimeoutExpired:  # a descendant left the session and holds the pipes
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()
        proc.wait(timeout=KILL_WAIT_S)
        out, err = "", "(output lost: a process it started outlived it)"
    return None, out, err


def _kill_session(proc: subprocess.Popen) -> None:
    """Everything the command started: it has a session of its own, which no Ctrl-C reaches."""
    with contextlib.suppress(ProcessLookupError):  # it ended meanwhile
        os.killpg(proc.pid, signal.SIGKILL)


def _both(out: str, err: str) -> str:
    return out if not err else f"{out}\n--- stderr ---\n{err}"


def _tail(err: str) -> str:
    err = err.strip()
    return f"; stderr ends with:\n{err[-STDERR_TAIL_CHARS:]}" if err else "; no stderr"


def _not_runnable(program: str, folder: Path) -> str | None:
    """Why `program` (a path from the profile's folder, or a name on PATH) cannot run, or None."""
    if os.sep not in program:
        return None if shutil.which(program) else f"{program} is not found on PATH"
    where = folder / program
    if not where.is_file():
        return f"{where} does not exist"
    if not os.access(where, os.X_OK):
        return f"{where} is not executable (chmod +x)"
    return None


@dataclass(frozen=True, kw_only=True)
class HttpAction(Action):
    """An HTTP request, to an absolute URL or a path of the service's endpoint."""

    KIND: ClassVar[str] = "http"
    SCHEMA: ClassVar[dict[str, Any]] = {
        "kind": (str, True),
        "method": (str, True),
        "url": (str, True),
        "body": (Data, False),
        "timeout_s": (float, False),
        "expect": (int, False),
        "output": (str, False),
    }
    METHODS: ClassVar[tuple[str, ...]] = ("GET", "POST", "PUT", "PATCH", "DELETE")
    method: str
    url: str
    body: dict[str, Any] | None = None
    timeout_s: float = 10.0
    expect: int | None = None
    output: str = "json"

    def check(self, path: Path, endpoints: Mapping[str, Any]) -> None:
        super().check(path, endpoints)
        _choice(path, f"{self.where}.method", self.method, self.METHODS)
        _choice(path, f"{self.where}.output", self.output, OUTPUTS)
        if self.body is not None and not isinstance(self.body, dict):
            raise ProfileError(path, f"{self.where}.body", "must be a mapping (sent as JSON)")

    def execute(self, params: Mapping[str, Any], context: LiveContext) -> Any:
        url = context.service_url(render(self.url, params))
        body = render(self.body, params)
        try:
            with context.http_client(self.timeout_s) as client:
                response = client.request(self.method, url, json=body)
        except httpx.HTTPError as exc:
            self._log(context, f"{self.method} {url}", str(exc), False)
            raise self._failed(params, f"{type(exc).__name__}: {exc}") from exc
        ok = self._expected(response.status_code)
        self._log(context, f"{self.method} {url}", f"{response.status_code}\n{response.text}", ok)
        if not ok:
            wanted = self.expect or "2xx"
            raise self._failed(
                params, f"answered {response.status_code}, not {wanted}: {response.text[-500:]}"
            )
        return self._parsed(params, self.output, response.text)

    def describe(self, params: Mapping[str, Any]) -> str:
        body = f" {json.dumps(render(self.body, params), default=str)}" if self.body else ""
        return f"http: {self.method} {render(self.url, params)}{body}"

    def preflight(self, context: LiveContext) -> list[Finding]:
        if placeholders(urlsplit(self.url).netloc):
            return [self._finding(self.url, None, "templated host: checked when it runs")]
        return [self._finding(self.url, context.reachable(self.url), "reachable")]

    def _expected(self, status: int) -> bool:
        return status == self.expect if self.expect is not None else 200 <= status < 300


@dataclass(frozen=True, kw_only=True)
class SqlAction(Action):
    """One statement, autocommit, as the superuser of a zone's node (live.endpoints.postgres);
    its result: the rows, as lists."""

    KIND: ClassVar[str] = "sql"
    # `dsn` names a zone, not a DSN: the DSN itself comes from the endpoints.
    SCHEMA: ClassVar[dict[str, Any]] = {
        "kind": (str, True),
        "dsn": (Name, True),
        "statement": (str, True),
        "timeout_s": (float, False),
    }
    dsn: str
    statement: str
    timeout_s: float = 10.0

    def check(self, path: Path, endpoints: Mapping[str, Any]) -> None:
        super().check(path, endpoints)
        _needs(path, f"{self.where}.dsn", endpoints, "postgres", "sql")
        zones = endpoints["postgres"]
        if not placeholders(self.dsn) and self.dsn not in zones:
            raise ProfileError(
                path,
                f"{self.where}.dsn",
                f"names {self.dsn!r}, not a zone of live.endpoints.postgres ({', '.join(zones)})",
            )

    def execute(self, params: Mapping[str, Any], context: LiveContext) -> list[list[Any]]:
        zone, statement = render(self.dsn, params), render(self.statement, params)
        command = f"sql on {zone}: {statement}"
        try:
            dsn = context.postgres_dsn(zone)
            with connect(dsn, self.timeout_s, autocommit=True) as conn:
                cursor = conn.execute(statement)
                rows = [list(row) for row in cursor.fetchall()] if cursor.description else []
        except (psycopg.Error, EndpointMissing) as exc:
            self._log(context, command, str(exc), False)
            raise self._failed(params, f"{type(exc).__name__}: {exc}") from exc
        self._log(context, command, rows, True)
        return rows

    def describe(self, params: Mapping[str, Any]) -> str:
        return f"sql on {render(self.dsn, params)}: {render(self.statement, params)}"

    def preflight(self, context: LiveContext) -> list[Finding]:
        zones = list(context.endpoint("postgres")) if placeholders(self.dsn) else [self.dsn]
        return [self._zone_finding(context, zone) for zone in zones]

    def _zone_finding(self, context: LiveContext, zone: str) -> Finding:
        """The zone's node connects; pg_promote() may be run there when the statement calls it."""
        promotes = "pg_promote" in self.statement
        check = (
            "SELECT has_function_privilege('pg_promote(boolean, integer)', 'EXECUTE')"
            if promotes
            else "SELECT true"
        )
        try:
            with connect(context.postgres_dsn(zone), context.preflight_timeout_s) as conn:
                [(allowed,)] = conn.execute(check).fetchall()
        except psycopg.Error as exc:
            return self._finding(f"zone {zone}", f"does not connect: {exc}", "")
        problem = None if allowed else "this DSN's user may not run pg_promote()"
        return self._finding(
            f"zone {zone}", problem, "connects; may run pg_promote()" if promotes else "connects"
        )


@dataclass(frozen=True, kw_only=True)
class ToxiproxyAction(Action):
    """A proxy of live.endpoints.toxiproxy disabled, enabled, given a toxic or reset."""

    KIND: ClassVar[str] = "toxiproxy"
    SCHEMA: ClassVar[dict[str, Any]] = {
        "kind": (str, True),
        "proxy": (str, True),
        "action": (str, True),
        "toxic": (
            {
                "type": (str, True),
                "attributes": (Data, False),
                "stream": (str, False),
                "name": (str, False),
            },
            False,
        ),
        "timeout_s": (float, False),
    }
    ACTIONS: ClassVar[tuple[str, ...]] = ("disable", "enable", "toxic", "reset")
    proxy: str
    action: str
    toxic: dict[str, Any] | None = None
    timeout_s: float = 5.0

    def check(self, path: Path, endpoints: Mapping[str, Any]) -> None:
        super().check(path, endpoints)
        _needs(path, f"{self.where}.proxy", endpoints, "toxiproxy", "toxiproxy")
        _choice(path, f"{self.where}.action", self.action, self.ACTIONS)
        if (self.action == "toxic") != (self.toxic is not None):
            problem = (
                "missing: action toxic needs one" if self.toxic is None else "only for action toxic"
            )
            raise ProfileError(path, f"{self.where}.toxic", problem)

    def execute(self, params: Mapping[str, Any], context: LiveContext) -> None:
        proxy = render(self.proxy, params)
        client = context.toxiproxy(self.timeout_s)
        try:
            self._act(client, proxy, render(self.toxic, params))
        except ToxiproxyError as exc:
            self._log(context, self.describe(params), str(exc), False)
            raise self._failed(params, str(exc)) from exc
        finally:
            client.close()
        self._log(context, self.describe(params), "done", True)

    def _act(self, client: ToxiproxyClient, proxy: str, toxic: dict[str, Any] | None) -> None:
        if self.action == "reset":
            client.reset_proxy(proxy)
        elif self.action == "toxic" and toxic is not None:
            client.add_toxic(
                proxy,
                toxic.get("name", f"drillbook-{toxic['type']}"),
                toxic["type"],
                toxic.get("attributes", {}),
                stream=toxic.get("stream", "downstream"),
            )
        else:
            client.update_proxy(proxy, enabled=self.action == "enable")

    def describe(self, params: Mapping[str, Any]) -> str:
        proxy = render(self.proxy, params)
        if self.toxic is None:
            return f"toxiproxy: {self.action} proxy {proxy}"
        toxic = render(self.toxic, params)
        attributes = json.dumps(toxic.get("attributes", {}), default=str)
        return f"toxiproxy: toxic {toxic['type']} {attributes} on proxy {proxy}"

    def preflight(self, context: LiveContext) -> list[Finding]:
        client = context.toxiproxy(context.preflight_timeout_s)
        templated = bool(placeholders(self.proxy))
        try:
            if templated:
                client.version()
            else:
                client.proxy(self.proxy)
        except ToxiproxyError as exc:
            return [self._finding(f"proxy {self.proxy}", str(exc), "")]
        finally:
            client.close()
        detail = "Toxiproxy answers (proxy templated)" if templated else "exists"
        return [self._finding(f"proxy {self.proxy}", None, detail)]


@dataclass(frozen=True, kw_only=True)
class KubernetesAction(Action):
    """`kubernetes.client.<api>.<method>(**args)` with live.endpoints.kubernetes."""

    KIND: ClassVar[str] = "kubernetes"
    SCHEMA: ClassVar[dict[str, Any]] = {
        "kind": (str, True),
        "api": (str, True),
        "method": (str, True),
        "args": (Data, False),
        "timeout_s": (float, False),
    }
    api: str
    method: str
    args: dict[str, Any] = field(default_factory=dict)
    timeout_s: float = 30.0

    def check(self, path: Path, endpoints: Mapping[str, Any]) -> None:
        super().check(path, endpoints)
        _needs(path, f"{self.where}.api", endpoints, "kubernetes", "kubernetes")
        for key in ("api", "method"):
            if not getattr(self, key).isidentifier():
                raise ProfileError(path, f"{self.where}.{key}", "must be a Python name")
        if not isinstance(self.args, dict):
            raise ProfileError(path, f"{self.where}.args", "must be a mapping of keyword arguments")

    def execute(self, params: Mapping[str, Any], context: LiveContext) -> Any:
        try:
            from kubernetes.client.exceptions import OpenApiException
            from kubernetes.config import ConfigException
        except ImportError as exc:
            raise self._failed(params, "the kubernetes package is not installed") from exc
        try:
            result = context.kubernetes_call(
                self.api, self.method, render(self.args, params), self.timeout_s
            )
        except (OpenApiException, ConfigException, LookupError, OSError) as exc:
            self._log(context, self.describe(params), str(exc), False)
            raise self._failed(params, f"{type(exc).__name__}: {exc}") from exc
        data = result.to_dict() if hasattr(result, "to_dict") else result
        self._log(context, self.describe(params), data, True)
        return data

    def describe(self, params: Mapping[str, Any]) -> str:
        return f"kubernetes: {self.api}.{self.method}({_call_args(render(self.args, params))})"

    def preflight(self, context: LiveContext) -> list[Finding]:
        kubeconfig = context.kubeconfig()
        if not kubeconfig.is_file():
            problem = f"{kubeconfig} does not exist (live.endpoints.kubernetes.kubeconfig)"
            return [self._finding("kubeconfig", problem, "")]
        try:
            from kubernetes import client
        except ImportError:
            problem = "the kubernetes package is not installed (pip install kubernetes)"
            return [self._finding(f"{self.api}.{self.method}", problem, "")]
        api = getattr(client, self.api, None)
        if api is None:
            problem = f"kubernetes.client has no {self.api}"
        elif not hasattr(api, self.method):
            problem = f"{self.api} has no method {self.method}"
        else:
            problem = None
        return [
            self._finding("kubeconfig", None, str(kubeconfig)),
            self._finding(f"{self.api}.{self.method}", problem, "exists"),
        ]


@dataclass(frozen=True, kw_only=True)
class AwsAction(Action):
    """A boto3 client operation, through live.endpoints.aws.endpoint_url when set."""

    KIND: ClassVar[str] = "aws"
    SCHEMA: ClassVar[dict[str, Any]] = {
        "kind": (str, True),
        "service": (str, True),
        "operation": (str, True),
        "params": (Data, False),
        "region": (str, False),
        "timeout_s": (float, False),
    }
    service: str
    operation: str
    params: dict[str, Any] = field(default_factory=dict)
    region: str | None = None
    timeout_s: float = 30.0

    def check(self, path: Path, endpoints: Mapping[str, Any]) -> None:
        super().check(path, endpoints)
        if self.region is None:
            _needs(path, f"{self.where}.region", endpoints, "aws", "aws action without region")
        if not isinstance(self.params, dict):
            raise ProfileError(path, f"{self.where}.params", "must be a mapping of parameters")

    def execute(self, params: Mapping[str, Any], context: LiveContext) -> Any:
        try:
            client = context.aws_client(self.service, self.region, self.timeout_s)
            call = getattr(client, self.operation, None)
            if call is None:
                raise self._failed(params, f"boto3 {self.service} has no {self.operation}")
            result = call(**render(self.params, params))
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
            self._log(context, self.describe(params), str(exc), False)
            raise self._failed(params, f"{type(exc).__name__}: {exc}") from exc
        result.pop("ResponseMetadata", None)
        self._log(context, self.describe(params), result, True)
        return result

    def describe(self, params: Mapping[str, Any]) -> str:
        region = f" in {self.region}" if self.region else ""
        call = f"{self.service}.{self.operation}({_call_args(render(self.params, params))})"
        return f"aws: {call}{region}"

    def preflight(self, context: LiveContext) -> list[Finding]:
        what = f"{self.service}.{self.operation}"
        try:
            client = context.aws_client(self.service, self.region, context.preflight_timeout_s)
        except botocore.exceptions.BotoCoreError as exc:
            return [self._finding(what, str(exc), "")]
        if not hasattr(client, self.operation):
            return [self._finding(what, f"boto3 {self.service} has no {self.operation}", "")]
        found = boto3.Session().get_credentials() is not None  # the chain the client signs with
        problem = None if found else "no AWS credentials found (environment, ~/.aws, role)"
        return [self._finding(what, problem, f"exists; region {client.meta.region_name}")]


def _call_args(args: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in args.items())


ACTION_KINDS: dict[str, type[Action]] = {
    cls.KIND: cls
    for cls in (CommandAction, HttpAction, SqlAction, ToxiproxyAction, KubernetesAction, AwsAction)
}


# --- bindings ---


@dataclass(frozen=True)
class Binding:
    """An operation of the table (drillbook.environments.live.operations) and its actions."""

    name: str
    spec: OperationSpec
    run: Action
    revert: Action | None = None

    def describe(self, params: Mapping[str, Any]) -> str:
        revert = self.revert.describe(params) if self.revert else "none"
        return f"{self.name}: {self.run.describe(params)}; revert: {revert}"

    def actions(self) -> tuple[Action, ...]:
        return (self.run,) if self.revert is None else (self.run, self.revert)


_BINDING = {"run": (dict, True), "revert": (dict, False)}


def parse_bindings(
    path: Path, data: dict[str, Any], endpoints: Mapping[str, Any], environ: Mapping[str, str]
) -> dict[str, Binding]:
    """`live.bindings` of the profile at `path`, checked against the operations' table and the
    profile's (resolved) `endpoints`; ${VAR}s resolved from `environ`."""
    bindings = {}
    for name, body in data.items():
        where = f"live.bindings.{name}"
        if name not in OPERATIONS:
            raise ProfileError(
                path, where, f"unknown operation (bindable: {', '.join(OPERATIONS)})"
            )
        if not isinstance(body, dict):
            raise ProfileError(path, where, "must be a mapping with run: and revert:")
        actions = validate(path, body, _BINDING, where + ".", dict(environ))
        spec = OPERATIONS[name]
        if spec.revert_required and "revert" not in actions:
            raise ProfileError(
                path,
                where + ".revert",
                f"missing: {name} is a fault, and a fault says how it is reverted",
            )
        bindings[name] = Binding(
            name,
            spec,
            parse_action(path, where + ".run", actions["run"], name, endpoints, environ),
            None
            if "revert" not in actions
            else parse_action(path, where + ".revert", actions["revert"], name, endpoints, environ),
        )
    return bindings


def parse_action(
    path: Path,
    where: str,
    data: dict[str, Any],
    operation: str,
    endpoints: Mapping[str, Any],
    environ: Mapping[str, str],
) -> Action:
    """One action mapping (`kind:` and its keys) of the binding of `operation`."""
    kind = data.get("kind")
    if kind not in ACTION_KINDS:
        problem = "missing" if kind is None else f"unknown kind {kind!r}"
        raise ProfileError(path, where + ".kind", f"{problem} (kinds: {', '.join(ACTION_KINDS)})")
    cls = ACTION_KINDS[kind]
    # As written, before ${VAR}s are resolved: a secret is never read as a placeholder.
    _check_placeholders(path, where, data, operation)
    values = validate(path, data, cls.SCHEMA, where + ".", dict(environ))
    values.pop("kind")
    if "argv" in values:
        values["argv"] = tuple(values["argv"])
    action = cls(where=where, **values)
    action.check(path, endpoints)
    return action


class Bindings:
    """The bindings of one live profile, as operations a live capability hands to the drill."""

    def __init__(self, profile_path: Path, bound: Mapping[str, Binding], context: LiveContext):
        self.profile_path = profile_path
        self.bound = dict(bound)
        self.context = context

    @classmethod
    def of(cls, profile: Profile, commands: CommandLog | None = None) -> Bindings:
        """The bindings of a loaded live profile, with its context."""
        return cls(profile.path, profile.live["bindings"], LiveContext.of(profile, commands))

    def has(self, name: str) -> bool:
        return name in self.bound

    def binding(self, name: str) -> Binding:
        """The binding of `name`, or an error naming the profile and what it binds."""
        if name not in self.bound:
            bound = ", ".join(self.bound) or "nothing"
            raise MissingBinding(
                f"{self.profile_path}: no binding for the operation {name} under live.bindings "
                f"(bound: {bound})"
            )
        return self.bound[name]

    def operation(
        self, name: str, kind: str, target: str, params: Mapping[str, Any], **detail: Any
    ) -> Operation[Any]:
        """The operation `name` (its role from the table) whose run executes the binding's run
        action and whose revert executes its revert action, both templated with `params`."""
        binding = self.binding(name)
        if set(params) != set(binding.spec.params):
            raise ValueError(
                f"operation {name} takes the params {list(binding.spec.params)}, not {list(params)}"
            )
        params = dict(params)
        context, revert = self.context, binding.revert

        def run() -> Any:
            with self._masked():
                return binding.run.execute(params, context)

        def undo() -> None:
            if revert is not None:
                with self._masked():
                    revert.execute(params, context)

        recover = {
            "op": RECOVER_OP,
            "profile": str(self.profile_path.resolve()),
            "binding": name,
            "params": params,
        }
        return Operation(
            binding.spec.role,
            kind,
            target,
            run,
            undo if revert is not None else None,
            recover if revert is not None else None,
            detail,
        )

    def describe(self, name: str, params: Mapping[str, Any]) -> str:
        """One line for the dry run: what the operation would run and how it is reverted."""
        return self.context.mask(self.binding(name).describe(params))

    @contextlib.contextmanager
    def _masked(self) -> Iterator[None]:
        """A binding's error names what it ran: with the profile's secrets masked."""
        try:
            yield
        except BindingError as exc:
            raise BindingError(self.context.mask(str(exc))) from None

    def preflight(self, names: Iterable[str] | None = None) -> list[Finding]:
        """The actions of the bindings of `names` (default: all bound) checked without acting;
        an operation not bound is a failed finding."""
        findings = []
        for name in self.bound if names is None else names:
            if name not in self.bound:
                findings.append(Finding(f"live.bindings.{name}", False, "not bound"))
                continue
            for action in self.bound[name].actions():
                findings += action.preflight(self.context)
        mask = self.context.mask
        return [Finding(mask(f.what), f.ok, mask(f.detail)) for f in findings]


@recover_op(RECOVER_OP)
def recover_binding(params: dict[str, Any]) -> str:
    """{"profile": path, "binding": operation, "params": its params}: the binding's revert run
    again, from the profile as it reads now and this run's environment variables."""
    profile = load_profile(Path(params["profile"]))
    if profile.kind != "live":
        raise BindingError(f"{profile.path} is no longer a live profile: cannot revert")
    bindings = Bindings.of(profile)
    binding = bindings.binding(params["binding"])
    if binding.revert is None:
        raise BindingError(f"{profile.path}: live.bindings.{binding.name} no longer has a revert")
    binding.revert.execute(params["params"], bindings.context)
    return f"{binding.name} reverted by {binding.revert.describe(params['params'])}"
