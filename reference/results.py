"""The basic result of a word: what a lookup answers without any generator behind it.

It is deterministic, so a drill can check that a degraded answer is exactly this payload
plus the two keys that say why it is degraded.
"""

from __future__ import annotations


def basic_result(word: str) -> dict[str, str]:
    return {
        "word": word,
        "definition": f"basic definition of {word}",
        "example": f"template example for {word}",
    }


def degraded_result(word: str, reason: str) -> dict[str, object]:
    """The January drill's fallback when the LLM cannot answer: basic definition + template
    example, flagged so clients and drills can tell it from a full answer."""
    return {**basic_result(word), "degraded": True, "degraded_reason": reason}
