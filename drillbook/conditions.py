"""The conditions a drill can wait for: registered sentences, each returning a poll.

A poll is a callable giving (done, what was observed). Step modules register conditions with
`@condition("the LLM circuit breaker is {state}")`; the `within N seconds <condition>` step
resolves the sentence and waits on its poll to a deadline.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import parse

Poll = Callable[[], tuple[bool, Any]]
CONDITIONS: list[tuple[str, parse.Parser, Callable[..., Poll]]] = []


def condition(pattern: str) -> Callable[[Callable[..., Poll]], Callable[..., Poll]]:
    """Register `pattern` (parse syntax) as a condition a `within` step can wait for."""

    def register(func: Callable[..., Poll]) -> Callable[..., Poll]:
        CONDITIONS.append((pattern, parse.compile(pattern), func))
        return func

    return register


def resolve(text: str) -> tuple[Callable[..., Poll], dict[str, Any]]:
    """The condition whose pattern matches `text`, and its parsed arguments."""
    for _pattern, parser, func in CONDITIONS:
        match = parser.parse(text)
        if match is not None:
            return func, match.named
    known = "\n".join(f"  {pattern}" for pattern, _parser, _func in CONDITIONS)
    raise LookupError(f"unknown condition {text!r}; known conditions:\n{known}")
