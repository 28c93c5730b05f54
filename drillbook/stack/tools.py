"""Where to find the binaries that scripts/setup.sh builds into .tools/bin."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def find_tool(name: str, configured: str | None = None) -> str:
    """The configured path, else $DRILLBOOK_<NAME>, else `name` on PATH, else
    <repo>/.tools/bin/<name>; the error lists every place looked at."""
    env_var = "DRILLBOOK_" + name.upper().replace("-", "_")
    candidates = [
        ("settings", configured),
        (env_var, os.environ.get(env_var)),
        ("PATH", shutil.which(name)),
        ("repo tools", str(REPO_ROOT / ".tools" / "bin" / name)),
    ]
    for _, path in candidates:
        if path and os.access(path, os.X_OK):
            return path
    looked = "; ".join(f"{where}: {path or 'unset'}" for where, path in candidates)
    raise FileNotFoundError(
        f"no executable {name} found (looked at {looked}); scripts/setup.sh builds it"
    )
