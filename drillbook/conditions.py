"""The conditions a drill can wait for: registered sentences, each returning a poll.

A poll is a callable giving (done, what was observed). Step modules register conditions with
`@condition("the LLM circuit breaker is {state}")`; the `within N seconds <condition>` step
resolves the sentence and waits on its poll to a deadline.

A sentence must name one condition, never whichever was registered first. Three rules make it so:

- A placeholder takes what the step vocabulary puts there, not the rest of the sentence. An
  untyped placeholder outside quotes (`{state}`, `{region}`, `{source}`) takes one word, no
  whitespace: states, regions and the like are single words, so
  `the LLM circuit breaker is open and the probes succeed again` is an unknown condition, not
  the breaker with the state "open and the probes succeed again". An untyped placeholder inside
  double quotes (`"{path}"`) takes anything but a double quote. A typed one (`{seconds:g}`)
  takes what its type matches.
- `resolve` tries every pattern, and refuses a sentence that more than one matches, naming them.
- Registering a pattern that matches another's example sentence, or whose example sentence
  another matches, is refused when the step module is imported, naming both. The example of a
  pattern is the pattern with each placeholder filled with a value of its type; `check()` runs
  the same test over the whole registry.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import parse

Poll = Callable[[], tuple[bool, Any]]


@parse.with_pattern(r"[^\s]+")
def _word(text: str) -> str:
    return text


@parse.with_pattern(r'[^"]+')
def _quoted(text: str) -> str:
    return text


TYPES = {"Word": _word, "Quoted": _quoted}
# `{{` and `}}` are literal braces; anything else between braces is a placeholder.
FIELD = re.compile(r"\{\{|\}\}|\{([^{}]*)\}")
# Values tried, in order, for a placeholder of the example sentence: the first its type takes.
SAMPLES = ("word", "7", "2.5", "50%", "some text", "2026-01-02")
PLACEHOLDER_RULE = (
    "an unquoted {placeholder} takes one word; a quoted one anything but a double quote"
)


class ConditionError(ValueError):
    """A condition that cannot be registered: a sentence could name it and another, or its
    pattern is malformed."""


class AmbiguousCondition(LookupError):
    """A sentence that more than one registered condition matches."""


@dataclass(frozen=True)
class Condition:
    pattern: str
    parser: parse.Parser
    func: Callable[..., Poll]
    example: str

    @property
    def origin(self) -> str:
        return f"{self.func.__module__}.{self.func.__qualname__}"

    def __str__(self) -> str:
        return f"{self.pattern!r} ({self.origin})"


class ConditionRegistry:
    """Registered conditions, refusing any two that a sentence could confuse."""

    def __init__(self) -> None:
        self._conditions: list[Condition] = []

    def __iter__(self) -> Iterator[Condition]:
        return iter(self._conditions)

    def __len__(self) -> int:
        return len(self._conditions)

    def condition(self, pattern: str) -> Callable[[Callable[..., Poll]], Callable[..., Poll]]:
        """Register `pattern` (parse syntax) as a condition a `within` step can wait for."""

        def register(func: Callable[..., Poll]) -> Callable[..., Poll]:
            self.add(pattern, func)
            return func

        return register

    def add(self, pattern: str, func: Callable[..., Poll]) -> Condition:
        """Register one condition; refused if a sentence could name it and one already there.
        The same function registering the same pattern again (a reloaded module) replaces it."""
        new = compile_condition(pattern, func)
        kept = [c for c in self._conditions if (c.pattern, c.origin) != (pattern, new.origin)]
        for old in kept:
            problem = overlap(old, new)
            if problem:
                raise ConditionError(problem)
        self._conditions = [*kept, new]
        return new

    def resolve(self, text: str) -> tuple[Callable[..., Poll], dict[str, Any]]:
        """The one condition whose pattern matches `text`, and its parsed arguments."""
        matches = [(c, m) for c in self._conditions if (m := c.parser.parse(text)) is not None]
        if len(matches) > 1:
            named = "\n".join(f"  {c}" for c, _match in matches)
            raise AmbiguousCondition(
                f"ambiguous condition {text!r}: {len(matches)} conditions match it, so which "
                f"to wait for is not clear:\n{named}"
            )
        if not matches:
            known = "\n".join(f"  {c.pattern}" for c in self._conditions)
            raise LookupError(
                f"unknown condition {text!r}; known conditions ({PLACEHOLDER_RULE}):\n{known}"
            )
        found, match = matches[0]
        return found.func, match.named

    def check(self) -> None:
        """Refuse any two registered conditions one of which matches the other's example."""
        for i, first in enumerate(self._conditions):
            for second in self._conditions[i + 1 :]:
                problem = overlap(first, second)
                if problem:
                    raise ConditionError(problem)


def compile_condition(pattern: str, func: Callable[..., Poll]) -> Condition:
    """The pattern with its untyped placeholders bounded (see the module's docstring), and an
    example sentence it matches."""
    bounded: list[str] = []
    example: list[str] = []
    end = 0
    for field in FIELD.finditer(pattern):
        literal = pattern[end : field.start()]
        bounded.append(literal)
        example.append(literal)
        end = field.end()
        if field.group(1) is None:  # an escaped brace
            bounded.append(field.group(0))
            example.append(field.group(0)[0])
            continue
        name, _, spec = field.group(1).partition(":")
        if not name.isidentifier():
            raise ConditionError(
                f"condition {pattern!r} ({func.__module__}.{func.__qualname__}): placeholder "
                f"{field.group(0)} needs a name, the keyword argument its function receives"
            )
        if not spec:
            quoted = pattern[field.start() - 1 : field.start()] == '"' == pattern[end : end + 1]
            spec = "Quoted" if quoted else "Word"
        bounded.append(f"{{{name}:{spec}}}")
        example.append(_sample(pattern, name, spec))
    bounded.append(pattern[end:])
    example.append(pattern[end:])
    condition = Condition(
        pattern, parse.compile("".join(bounded), TYPES), func, example="".join(example)
    )
    if condition.parser.parse(condition.example) is None:
        raise ConditionError(f"condition {condition}: no example sentence can be built for it")
    return condition


def _sample(pattern: str, name: str, spec: str) -> str:
    alone = parse.compile(f"{{{name}:{spec}}}", TYPES)
    for sample in SAMPLES:
        if alone.parse(sample) is not None:
            return sample
    raise ConditionError(
        f"condition {pattern!r}: no example value for placeholder {{{name}:{spec}}}"
        f" (tried {', '.join(SAMPLES)})"
    )


def overlap(first: Condition, second: Condition) -> str | None:
    """Why one sentence could name both conditions (one matches the other's example), or
    None."""
    for one, other in ((first, second), (second, first)):
        if one.parser.parse(other.example) is not None:
            return (
                f"conditions {first} and {second} overlap: the sentence {other.example!r} "
                f"matches both; reword one so that no sentence names both"
            )
    return None


# The registry the step modules register into.
CONDITIONS = ConditionRegistry()


def condition(pattern: str) -> Callable[[Callable[..., Poll]], Callable[..., Poll]]:
    """Register `pattern` (parse syntax) as a condition a `within` step can wait for."""
    return CONDITIONS.condition(pattern)


def resolve(text: str) -> tuple[Callable[..., Poll], dict[str, Any]]:
    """The one condition whose pattern matches `text`, and its parsed arguments."""
    return CONDITIONS.resolve(text)


def check_registry(registry: ConditionRegistry = CONDITIONS) -> None:
    """Refuse conditions a sentence could confuse; registration already refuses them one by
    one, this checks every pair of a registry at once."""
    registry.check()
