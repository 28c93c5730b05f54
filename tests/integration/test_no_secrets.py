"""No secret reaches a report: run the February drill as a user does and scan what it left.

The local stack gives every run fresh random passwords, so the scan looks for the shape of an
unmasked credential rather than for known values; the service database attachment must hold a
masked DSN, which proves the scan looks where credentials do pass.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RUN_TIMEOUT_S = 200
MASK = r"\*\*\*"

# scheme://user:PASSWORD@ whose password is not the mask.
URL_CREDENTIAL = re.compile(
    rf"[a-z][a-z0-9+.\-]*://[^\s/:@'\"]*:(?!{MASK}@)(?P<secret>[^\s/@'\"]+)@", re.I
)
# password=VALUE (libpq key=value, PGPASSWORD=..., query strings) and "password": "VALUE".
PASSWORD_VALUE = re.compile(
    rf"""(?ix)
    \b\w*passw(?:or)?d\w*\s*=\s*(?!{MASK})(?P<secret>[^\s&'";,]+)
    | "\w*passw(?:or)?d\w*"\s*:\s*"(?!{MASK}")(?P<quoted>[^"]+)"
    """
)
MASKED_DSN = re.compile(rf"postgres(?:ql)?://[^\s/:@'\"]+:{MASK}@[^\s/\"]+/\w+")


def leaks(text: str, where: str) -> Iterator[str]:
    for pattern in (URL_CREDENTIAL, PASSWORD_VALUE):
        for match in pattern.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            # Where and what shape, without echoing the secret into this test's own output.
            secret = match.group("secret") or match.group("quoted")
            shown = match.group(0).replace(secret, f"<{len(secret)} characters>")
            yield f"{where}:{line}: {shown}"


def attachments(allure_dir: Path, name: str) -> list[Path]:
    """The files of the Allure attachments whose name starts with ``name``, in any step."""
    found: list[Path] = []

    def walk(node: dict) -> None:
        found.extend(
            allure_dir / a["source"]
            for a in node.get("attachments", [])
            if a["name"].startswith(name)
        )
        for step in node.get("steps", []):
            walk(step)

    for result in allure_dir.glob("*-result.json"):
        walk(json.loads(result.read_text(encoding="utf-8")))
    return found


@pytest.mark.integration
@pytest.mark.timeout(240)
def test_the_february_drill_leaves_no_secret_in_reports_or_output(tmp_path: Path) -> None:
    reports, allure_dir = tmp_path / "reports", tmp_path / "allure"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "features/2_pitr.feature",
            "-k",
            "Cross",
            "--dr-reports",
            str(reports),
            "--alluredir",
            str(allure_dir),
            "-p",
            "no:cacheprovider",
            "-s",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
        timeout=RUN_TIMEOUT_S,
    )
    tail = "\n".join(run.stdout.splitlines()[-30:])

    # Scanned before the drill's verdict: a failing run is where a DSN most often escapes.
    found = list(leaks(run.stdout, "drill output"))
    scanned = sorted(p for p in (*reports.rglob("*"), *allure_dir.rglob("*")) if p.is_file())
    for path in scanned:
        text = path.read_bytes().decode("utf-8", errors="replace")
        found += leaks(text, str(path.relative_to(tmp_path)))
    assert not found, "unmasked credentials:\n" + "\n".join(found)

    assert run.returncode == 0, f"the drill failed (exit {run.returncode}):\n{tail}"
    assert any(p.parent.name == "ledger" for p in scanned), f"no ledger entry written:\n{tail}"
    endpoint = attachments(allure_dir, "service database endpoint")
    assert endpoint, "no 'service database endpoint' attachment in the Allure results"
    text = endpoint[0].read_text(encoding="utf-8")
    assert MASKED_DSN.search(text), f"the attachment holds no masked DSN:\n{text}"
