"""The share of the host's CPU time busy between two readings of /proc/stat."""

from __future__ import annotations

import os
import time

from drillbook.host_load import busy_share, cpu_times


def stat(tmp_path, name: str, line: str):
    path = tmp_path / name
    path.write_text(f"{line}\ncpu0 1 2 3 4 5 6 7 8 0 0\nctxt 1\n", encoding="ascii")
    return path


def test_busy_is_every_tick_but_idle_and_iowait(tmp_path):
    # user nice system idle iowait irq softirq steal guest guest_nice
    before = cpu_times(stat(tmp_path, "a", "cpu  100 0 50 800 50 0 0 0 7 0"))
    after = cpu_times(stat(tmp_path, "b", "cpu  250 0 100 850 100 0 0 0 9 0"))
    assert before == (150, 1000) and after == (350, 1300)
    assert busy_share(before, after) == 200 / 300


def test_no_reading_or_no_tick_between_is_no_share(tmp_path):
    assert cpu_times(tmp_path / "missing") is None
    reading = cpu_times(stat(tmp_path, "a", "cpu  100 0 50 800 50 0 0 0 0 0"))
    assert busy_share(None, reading) is None
    assert busy_share(reading, reading) is None


def test_a_core_kept_busy_shows_in_this_hosts_share():
    before, until = cpu_times(), time.monotonic() + 0.3
    while time.monotonic() < until:
        pass
    share = busy_share(before, cpu_times())
    # one core of this host's kept busy throughout: its share of all of them at least
    assert share is not None and 1 / (os.cpu_count() or 1) * 0.8 <= share <= 1
