"""A client thread that runs one operation per slot of a fixed schedule."""

from __future__ import annotations

import threading
import time

# How much longer than its longest operation a stop waits for a worker's thread to end.
STOP_MARGIN_S = 2.0


class PacedWorker:
    """Calls `_tick()` every `interval_s` on a daemon thread until stopped.

    Slots follow a monotonic deadline rather than sleep-after-work, so slow operations do not
    stretch the rate; an operation that overruns its slot shifts the schedule instead of being
    followed by a burst of catch-up operations.

    `tick_timeout_s` is the longest one `_tick()` can wait on its clients' timeouts: a stop
    waits for the operation in flight at least that long (plus a margin), so a client with a
    long timeout is never reported stuck while it is still within it.
    """

    def __init__(self, name: str, interval_s: float, tick_timeout_s: float = 0.0) -> None:
        if interval_s <= 0:
            raise ValueError(f"{name}: interval_s must be positive, got {interval_s}")
        self.name = name
        self.interval_s = interval_s
        self.tick_timeout_s = tick_timeout_s
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._crash: Exception | None = None

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def start(self) -> None:
        """Starts the thread; starting a worker that was already started does nothing."""
        if self._thread.ident is None:
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stops the thread and waits for it, `timeout` or, when longer, the operation in
        flight's own timeouts plus a margin; raises if it is stuck or crashed."""
        self._stopping.set()
        if self._thread.ident is None:
            self._close()
            return
        wait = max(timeout, self.tick_timeout_s + STOP_MARGIN_S)
        self._thread.join(wait)
        if self._thread.is_alive():
            raise TimeoutError(f"{self.name} did not stop within {wait:g} s")
        if self._crash is not None:
            raise RuntimeError(f"{self.name} stopped early: {self._crash!r}") from self._crash

    def _run(self) -> None:
        next_at = time.monotonic()
        try:
            while not self._stopping.is_set():
                self._tick()
                now = time.monotonic()
                next_at = max(next_at + self.interval_s, now)
                self._stopping.wait(next_at - now)
        except Exception as exc:  # kept for stop(), which is where the caller looks
            self._crash = exc
        finally:
            self._close()

    def _tick(self) -> None:
        raise NotImplementedError

    def _close(self) -> None:
        """Releases the client's resources, on the worker thread once it ends."""
