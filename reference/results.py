"""The basic result of a word: what a lookup answers without any generator behind it.

It is deterministic, so a drill can check that a degraded answer is exactly this payload.
"""

from __future__ import annotations


def basic_result(word: str) -> dict[str, str]:
    return {
        "word": word,
        "definition": f"basic definition of {word}",
        "example": f"template example for {word}",
    }
