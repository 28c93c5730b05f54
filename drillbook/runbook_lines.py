"""The runbook lines a feature executes: a comment `# 5.1 <the runbook's words>` names the line
of the plan the steps below it carry out, up to the next such comment or a blank line, so a
runbook feature reads step for step against the plan and the report links each step to its
section."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

RUNBOOK_COMMENT = re.compile(r"^\s*#\s*(\d+(?:\.\d+)*)\s+(\S.*)$")


@dataclass(frozen=True)
class RunbookLine:
    section: str  # "5.1"
    text: str  # the comment after the section: the runbook's line


@cache
def runbook_lines(feature: Path) -> dict[int, RunbookLine]:
    """Line number of each step under a runbook comment -> that comment."""
    found: dict[int, RunbookLine] = {}
    current: RunbookLine | None = None
    for number, line in enumerate(feature.read_text(encoding="utf-8").splitlines(), start=1):
        if match := RUNBOOK_COMMENT.match(line):
            current = RunbookLine(match[1], match[2].strip())
        elif not line.strip():
            current = None
        elif current is not None and not line.lstrip().startswith("#"):
            found[number] = current
    return found
