"""SHA-256 digests of evidence, so an auditor can match a report item to its source."""

from __future__ import annotations

import hashlib
from pathlib import Path

SHORT_LEN = 12


def sha256_hex(data: bytes | str) -> str:
    """Hex SHA-256 of bytes, or of a string encoded as UTF-8."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def short(sha: str) -> str:
    """The prefix of a digest shown in attachment names."""
    return sha[:SHORT_LEN]
