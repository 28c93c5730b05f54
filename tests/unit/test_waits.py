import pytest

from drillbook import waits
from drillbook.waits import WaitTimeout, wait_until


def test_returns_when_the_condition_holds():
    values = iter([1, 2, 3])

    def probe():
        value = next(values)
        return value == 3, value

    waited = wait_until("three", probe, timeout_s=5, interval_s=0.001)
    assert waited.last == 3


def test_times_out_with_the_last_observation_and_reports_progress():
    lines = []
    with pytest.raises(WaitTimeout, match=r"waiting for the moon; last observed: 42"):
        wait_until(
            "the moon",
            lambda: (False, 42),
            timeout_s=0.3,
            interval_s=0.01,
            progress=lines.append,
            progress_every_s=0.1,
        )
    assert lines and "waiting for the moon: last observed 42" in lines[0]
    assert "s left" in lines[0]


def test_an_exception_is_an_observation_until_the_deadline():
    def probe():
        raise ConnectionError("refused")

    with pytest.raises(WaitTimeout, match=r"ConnectionError: refused"):
        wait_until("a socket", probe, timeout_s=0.05, interval_s=0.01)


def test_a_pause_sleeps_in_slices_so_a_signal_is_handled_within_one(monkeypatch):
    slept: list[float] = []
    clock = [0.0]

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock[0] += seconds

    monkeypatch.setattr(waits.time, "sleep", sleep)
    monkeypatch.setattr(waits.time, "monotonic", lambda: clock[0])
    waits.pause(1.0)
    assert sum(slept) == pytest.approx(1.0)
    assert max(slept) <= waits.PAUSE_SLICE_S
