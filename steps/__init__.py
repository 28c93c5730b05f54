"""Step definitions, one module per domain. Thin: parse, call the library, attach evidence."""

import re

QUOTED = re.compile(r'"([^"]+)"')


def quoted(text: str) -> list[str]:
    """The double-quoted items of a step argument: '"/lookup" and "/history"' -> [...]."""
    items = QUOTED.findall(text)
    if not items:
        raise ValueError(f"expected one or more double-quoted items, got {text!r}")
    return items
