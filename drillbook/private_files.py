"""Files that may hold credentials or keys, readable by their owner only from the first byte
(a file written and then chmod-ed is readable by others in between)."""

from __future__ import annotations

import os
from pathlib import Path


def write_private(path: Path, content: str | bytes, *, exclusive: bool = False) -> None:
    """`content` written to `path` with mode 0600; `exclusive`: only if it does not exist yet
    (FileExistsError otherwise)."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if exclusive else os.O_TRUNC)
    fd = os.open(path, flags, 0o600)
    with os.fdopen(fd, "wb") as file:
        # an existing file keeps its mode through O_TRUNC
        os.fchmod(file.fileno(), 0o600)
        file.write(content.encode("utf-8") if isinstance(content, str) else content)
