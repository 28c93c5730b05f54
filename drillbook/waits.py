"""Waits that poll to a deadline, say what they wait for, and fail with the last observation."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


class WaitTimeout(AssertionError):
    """The condition did not hold before the deadline."""


@dataclass(frozen=True)
class Waited:
    what: str
    elapsed_s: float
    last: Any


# CPython runs a signal's handler in the main thread, but the kernel may deliver the signal to
# any thread: a main thread asleep for minutes would not notice a Ctrl-C or a SIGTERM that
# another thread received until it woke up. Sleeping in slices bounds that delay.
PAUSE_SLICE_S = 0.2


def pause(seconds: float) -> None:
    """Sleep `seconds`, in slices, so that Ctrl-C and SIGTERM interrupt it within a slice."""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        time.sleep(min(left, PAUSE_SLICE_S))


def wait_until(
    what: str,
    probe: Callable[[], tuple[bool, Any]],
    timeout_s: float,
    *,
    interval_s: float = 0.1,
    progress: Callable[[str], None] = print,
    progress_every_s: float = 5.0,
) -> Waited:
    """Poll `probe` (returning (done, observed value)) until done or `timeout_s` has passed.

    Prints a progress line at least every `progress_every_s` while it waits, naming what it
    waits for, the last observed value and the time left.
    """
    start = time.monotonic()
    deadline = start + timeout_s
    next_report = start + progress_every_s
    last: Any = None
    while True:
        try:
            done, last = probe()
        except Exception as exc:  # an error is an observation too, until the deadline
            done, last = False, f"{type(exc).__name__}: {exc}"
        now = time.monotonic()
        if done:
            return Waited(what, now - start, last)
        if now >= deadline:
            raise WaitTimeout(
                f"timed out after {timeout_s:g} s waiting for {what}; last observed: {last}"
            )
        if now >= next_report:
            progress(f"waiting for {what}: last observed {last}; {deadline - now:.0f} s left")
            next_report = now + progress_every_s
        time.sleep(min(interval_s, max(0.0, deadline - now)))
