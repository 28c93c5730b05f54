"""Attach a scenario's evidence to its Allure result, redacted and hashed.

Every attachment is redacted first and hashed afterwards, so the SHA-256 in the ledger is the
digest of exactly what the report holds. Without an active Allure listener (pytest run without
``--alluredir``) ``allure.attach`` does nothing and the hashes are still collected. With one,
allure-pytest-bdd accepts runtime calls only while a scenario runs (from its start to its last
report); outside (a plain test, a session teardown) it raises, and we warn instead.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import allure

from drillbook.evidence.redact import redact, redact_obj
from drillbook.hashing import sha256_hex, short

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class Evidence:
    """What a scenario attached: names, kinds and full SHA-256 digests."""

    def __init__(self) -> None:
        self._items: list[dict[str, str]] = []

    @property
    def items(self) -> list[dict[str, str]]:
        """``[{"name", "sha256", "kind"}]`` in attachment order (a copy)."""
        return [dict(item) for item in self._items]

    def attach_text(self, name: str, text: str) -> str:
        """Attach redacted text; return the SHA-256 of the attached bytes."""
        return self._attach(name, redact(text).encode("utf-8"), "text", allure.attachment_type.TEXT)

    def attach_json(self, name: str, obj: Any) -> str:
        """Attach a JSON-serialisable object with secret-named values masked."""
        body = json.dumps(redact_obj(obj), indent=2, ensure_ascii=False, default=str)
        return self._attach(name, body.encode("utf-8"), "json", allure.attachment_type.JSON)

    def attach_png(self, name: str, path: str | Path) -> str:
        """Attach a PNG image (a chart); images are not redacted, so only attach our own."""
        body = Path(path).read_bytes()
        if not body.startswith(_PNG_SIGNATURE):
            raise ValueError(f"evidence {name!r}: {path} is not a PNG file")
        return self._attach(name, body, "png", allure.attachment_type.PNG)

    def attach_file(self, name: str, path: str | Path) -> str:
        """Attach a file: PNG as an image, anything else as redacted UTF-8 text."""
        path = Path(path)
        with path.open("rb") as f:
            is_png = f.read(len(_PNG_SIGNATURE)) == _PNG_SIGNATURE
        if is_png:
            return self.attach_png(name, path)
        return self.attach_text(name, path.read_text(encoding="utf-8", errors="replace"))

    def parameter(self, name: str, value: Any) -> None:
        """Show a figure as a parameter of the Allure result (e.g. ``RTO (s)`` = 12.4)."""
        value = redact(value) if isinstance(value, str) else value
        _report(f"parameter {name!r}", lambda: allure.dynamic.parameter(redact(name), value))

    def _attach(self, name: str, body: bytes, kind: str, attachment_type: Any) -> str:
        name = redact(name)
        sha = sha256_hex(body)
        _report(
            f"attachment {name!r}",
            lambda: allure.attach(
                body, name=f"{name} [sha256:{short(sha)}…]", attachment_type=attachment_type
            ),
        )
        self._items.append({"name": name, "sha256": sha, "kind": kind})
        return sha


def _report(what: str, call: Callable[[], None]) -> None:
    # allure-pytest-bdd's lifecycle has no current result outside a scenario: attach raises
    # KeyError(None), dynamic.* AttributeError on None.
    try:
        call()
    except (KeyError, AttributeError) as exc:
        warnings.warn(
            f"{what} not added to the Allure report: no scenario is running "
            f"({type(exc).__name__}: {exc})",
            RuntimeWarning,
            stacklevel=3,
        )
