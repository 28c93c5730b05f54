"""The command line of `python -m drillbook.stack`: the embedded stack, detached, and a
runbook acting on it.

    up [--dir DIR] [--env local] [--write-profile PATH] [--timeout S]
    status [--dir DIR]
    down [--dir DIR] [--timeout S]
    serve [--dir DIR] [--env local]          the daemon itself, what `up` starts
    ACTION [--dir DIR] [--FLAG VALUE ...]    kill-postgres, pitr, roll-out, ... (see --help)

DIR defaults to $DRILLBOOK_STACK_DIR, else /tmp/drillbook-stack. An action prints its result as
JSON on stdout; any failure, usage errors included, exits 1 with the reason on stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, NoReturn

from drillbook.detached.runbook import (
    ACTIONS,
    CLIENT_MARGIN_S,
    DEFAULT_DIR,
    DIR_VARIABLE,
    DOWN_TIMEOUT_S,
    UP_TIMEOUT_S,
    ActionSpec,
    ControlError,
    StackDir,
    request,
)

PROG = "python -m drillbook.stack"


class _Parser(argparse.ArgumentParser):
    """Usage errors exit 1, as every other failure of a runbook command does."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(1, f"{self.prog}: error: {message}\n")


def parser() -> argparse.ArgumentParser:
    top = _Parser(prog=PROG, description=__doc__.split("\n\n")[0])
    commands = top.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=_Parser
    )
    up = _command(commands, "up", "start the stack in the background and write a live profile")
    _env_option(up)
    up.add_argument(
        "--write-profile",
        type=Path,
        metavar="PATH",
        help="where the live profile goes (default DIR/staging.yaml; its variables: PATH.env)",
    )
    up.add_argument(
        "--timeout", type=float, default=UP_TIMEOUT_S, help="seconds to wait for the stack"
    )
    _command(commands, "status", "the daemon, each component's pid and liveness, the endpoints")
    down = _command(commands, "down", "stop the stack and its daemon")
    down.add_argument(
        "--timeout", type=float, default=DOWN_TIMEOUT_S, help="seconds before SIGKILL"
    )
    _env_option(_command(commands, "serve", "run the daemon in the foreground (what up starts)"))
    for spec in ACTIONS.values():
        action = _command(commands, spec.name, spec.help)
        for param in spec.params:
            action.add_argument(
                param.flag, dest=param.name, required=True, choices=param.choices, help=param.help
            )
    return top


def _command(
    commands: argparse._SubParsersAction, name: str, summary: str
) -> argparse.ArgumentParser:
    command = commands.add_parser(name, help=summary, description=summary)
    command.add_argument(
        "--dir",
        help=f"the stack's folder (default ${DIR_VARIABLE}, else {DEFAULT_DIR})",
    )
    return command


def _env_option(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--env", default="local", help="the local profile it runs: environments/NAME.yaml"
    )


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    stack = StackDir.chosen(args.dir)
    if args.command in ACTIONS:
        return run_action(stack, ACTIONS[args.command], vars(args))
    # Loaded only here: an action, run once per fault, needs none of what these import.
    if args.command == "serve":
        from drillbook.detached.daemon import serve

        return serve(stack, args.env)
    from drillbook.detached import lifecycle

    try:
        if args.command == "up":
            return lifecycle.up(stack, args.env, args.write_profile, args.timeout, print)
        if args.command == "down":
            return lifecycle.down(stack, args.timeout, print)
        return lifecycle.status(stack, print)
    except Exception as exc:  # reported as every other failure: one line, exit 1
        print(f"{PROG} {args.command}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


def run_action(stack: StackDir, spec: ActionSpec, given: dict[str, Any]) -> int:
    """Ask the daemon for one action; its result as JSON on stdout."""
    try:
        args = spec.parse_args({param.name: given[param.name] for param in spec.params})
        result = request(stack, spec.name, args, spec.timeout_s + CLIENT_MARGIN_S)
    except (ValueError, ControlError) as exc:
        print(f"{PROG} {spec.name}: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(result))
    return 0
