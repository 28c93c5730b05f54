"""Where to find the binaries that scripts/setup.sh builds into .tools/bin."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def find_tool(name: str, configured: str | None = None, *, pinned: bool = False) -> str:
    """The configured path, else $DRILLBOOK_<NAME>, else `name` on PATH, else
    <repo>/.tools/bin/<name>; the error lists every place looked at. A `pinned` tool is looked
    for in the repo's tools before PATH: Kubernetes' programs and kubectl must be the version
    setup built, not whichever another package put on PATH."""
    env_var = "DRILLBOOK_" + name.upper().replace("-", "_")
    on_path = ("PATH", shutil.which(name))
    built = ("repo tools", str(REPO_ROOT / ".tools" / "bin" / name))
    candidates = [
        ("settings", configured),
        (env_var, os.environ.get(env_var)),
        *((built, on_path) if pinned else (on_path, built)),
    ]
    for _, path in candidates:
        if path and os.access(path, os.X_OK):
            return path
    looked = "; ".join(f"{where}: {path or 'unset'}" for where, path in candidates)
    raise FileNotFoundError(
        f"no executable {name} found (looked at {looked}); scripts/setup.sh builds it"
    )
