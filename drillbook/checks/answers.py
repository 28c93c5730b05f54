"""Checks of one answer of the service, asked for at a point of the drill (a checkpoint): a
header it must carry, an error it must refuse with.

The figure is the number of wrong answers (not as the plan wants): 0 or 1, of the one asked
for; the explanation says what came back.
"""

from __future__ import annotations

from collections.abc import Mapping

from drillbook.checks.result import CheckResult

UNIT = "wrong answers"
SHOWN_BODY = 300


def header_is(
    request: str, status: int, headers: Mapping[str, str], header: str, expected: str
) -> CheckResult:
    """The answer to `request` carries `header: expected` (header names are not case
    sensitive)."""
    got = next((v for k, v in headers.items() if k.lower() == header.lower()), None)
    passed = got == expected
    carried = f"{header}: {got!r}" if got is not None else f"no {header} header"
    explanation = f"{request} answered {status} with {carried}, expected {expected!r}"
    details = {"request": request, "status": status, "header": header, "got": got}
    return CheckResult(
        f"{header}: {expected}", 0 if passed else 1, UNIT, 0, passed, explanation, details
    )


def refused_with(
    request: str, status: int, body: Mapping, error: str, *, expected_status: int = 429
) -> CheckResult:
    """The answer to `request` is the refusal `expected_status` with the error code `error`."""
    got = body.get("error")
    passed = status == expected_status and got == error
    shown = str(dict(body))[:SHOWN_BODY]
    explanation = f"{request} answered {status} {shown}, expected {expected_status} {error!r}"
    details = {"request": request, "status": status, "error": got}
    return CheckResult(
        f"{request} refused with {error}", 0 if passed else 1, UNIT, 0, passed, explanation, details
    )
