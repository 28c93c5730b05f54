"""CRR lag by canary objects, and the checks on its samples: the alert of seed section 2
(lag > 60 s) must fire during a block and the backlog must drain after it."""

from __future__ import annotations

import boto3
import matplotlib.pyplot as plt
import pytest
from moto import mock_aws

from drillbook.checks.crr import crr_alert_raised, crr_drained, crr_lag_now, versions_match
from drillbook.evidence.crr_chart import crr_lag_png
from drillbook.workload import History, Op
from drillbook.workload.canary import CrrCanary

T0 = 1_700_000_000.0
BUCKET = "glancy-exports"


def samples(lags_and_pending: list[tuple[float, int]], start: float = T0) -> History:
    """One canary sample a second from `start`."""
    history = History()
    for n, (lag, pending) in enumerate(lags_and_pending):
        at = start + n
        value = {"lag_s": lag, "pending": pending, "written": f"k{n}", "arrived": []}
        history.record(Op(f"crr:{BUCKET}", "sample", at, at + 0.01, "ok", value=value))
    return history


BLOCKED = [(0.02, 0)] * 5 + [(float(n), n) for n in range(1, 71)] + [(0.03, 0)] * 5
RESTORED_AT = T0 + 75


def test_the_alert_fires_when_the_lag_passes_the_threshold_during_the_fault():
    result = crr_alert_raised(samples(BLOCKED), BUCKET, 60, (T0 + 5, RESTORED_AT))
    assert result.passed
    assert result.figure == 70
    assert result.details["raised_at"] == pytest.approx(T0 + 65.01)
    assert "CRR lag 61.0 s > 60 s (61 objects waiting)" in result.explanation


def test_a_block_too_short_for_the_alert_fails():
    short = [(0.02, 0)] * 5 + [(float(n), n) for n in range(1, 31)] + [(0.03, 0)] * 5
    result = crr_alert_raised(samples(short), BUCKET, 60, (T0 + 5, T0 + 35))
    assert not result.passed
    assert (
        "never raised" in result.explanation and "highest CRR lag was 30.0 s" in result.explanation
    )


def test_no_sample_in_the_fault_window_is_not_measured():
    result = crr_alert_raised(samples(BLOCKED), BUCKET, 60, (T0 + 500, T0 + 600))
    assert result.verdict == "not measured" and not result.passed and result.figure is None
    assert "no CRR lag sample of glancy-exports from" in result.explanation


def test_the_backlog_drains_after_the_restore():
    result = crr_drained(samples(BLOCKED), BUCKET, RESTORED_AT, 900)
    assert result.passed
    assert result.figure == pytest.approx(0.01)


def test_a_backlog_still_waiting_fails_and_a_slow_drain_fails():
    stuck = crr_drained(samples(BLOCKED[:-5] + [(80.0, 75)] * 5), BUCKET, RESTORED_AT, 900)
    assert stuck.verdict == "fail" and not stuck.passed and stuck.figure is None
    assert stuck.shown == "not drained"
    assert "still waiting at the last of 5 samples" in stuck.explanation
    assert "(75 objects, CRR lag 80.0 s" in stuck.explanation
    slow = crr_drained(samples(BLOCKED[:-5] + [(80.0, 75)] * 4 + [(0.1, 0)]), BUCKET, T0 + 70, 3)
    assert not slow.passed
    assert slow.figure == pytest.approx(9.01)


def test_a_drain_without_a_sample_since_the_restore_is_not_measured():
    result = crr_drained(samples(BLOCKED), BUCKET, T0 + 500, 900)
    assert result.verdict == "not measured" and not result.passed and result.figure is None
    assert "no CRR lag sample of glancy-exports since replication was restored" in (
        result.explanation
    )


def test_the_lag_now_is_the_last_sample():
    assert crr_lag_now(samples(BLOCKED), BUCKET, 60).passed
    late = crr_lag_now(samples(BLOCKED[:-5]), BUCKET, 60)
    assert not late.passed
    assert late.explanation.startswith("CRR lag 70.00 s > 60 s")


def test_the_lag_now_without_a_sample_is_not_measured():
    result = crr_lag_now(History(), BUCKET, 60)
    assert result.verdict == "not measured" and not result.passed and result.figure is None
    assert result.explanation == "CRR lag not measured: no CRR lag sample of glancy-exports"


def test_versions_match_counts_missing_or_different_versions():
    source = {("a", "v1"): '"e1"', ("a", "v2"): "delete marker"}
    same = versions_match("b/a", ("src", source), ("dst", dict(source)))
    assert same.passed and same.figure == 0
    differing = versions_match("b/a", ("src", source), ("dst", {("a", "v1"): '"e1"'}))
    assert not differing.passed and differing.figure == 1


def test_versions_match_without_a_source_version_is_not_measured():
    result = versions_match("b/a", ("src", {}), ("dst", {("a", "v1"): '"e1"'}))
    assert result.verdict == "not measured" and not result.passed and result.figure is None
    assert result.explanation.endswith("not measured: b/a holds no version in src")


@pytest.fixture
def regions():
    with mock_aws():
        clients = [boto3.client("s3", region_name="us-east-1") for _ in range(2)]
        clients[0].create_bucket(Bucket=BUCKET)
        clients[0].create_bucket(Bucket=f"{BUCKET}-dr")
        yield clients


def test_the_canary_lag_is_the_age_of_the_oldest_object_not_replicated(regions):
    primary, dr = regions

    class DrView:
        """The DR region's bucket under the same name, as the canary looks for it."""

        def head_object(self, Bucket: str, Key: str) -> dict:
            return dr.head_object(Bucket=f"{Bucket}-dr", Key=Key)

        def close(self) -> None:
            pass

    history = History()
    canary = CrrCanary(history, lambda: primary, DrView, BUCKET, run="t")
    canary._tick()  # nothing earlier to look for; writes canary 1
    canary._tick()  # 1 has not arrived; writes 2
    dr.put_object(Bucket=f"{BUCKET}-dr", Key="canary/t/000002", Body=b"")
    canary._tick()  # 2 arrived, but 1 (the oldest) has not: still waiting on it; writes 3
    dr.put_object(Bucket=f"{BUCKET}-dr", Key="canary/t/000001", Body=b"")
    dr.put_object(Bucket=f"{BUCKET}-dr", Key="canary/t/000003", Body=b"")
    canary._tick()  # 1, 2, 3 arrive: replication caught up; writes 4
    ops = history.ops(f"crr:{BUCKET}")
    assert [op.value["pending"] for op in ops] == [0, 1, 2, 0]
    assert [op.value["written"] for op in ops][-1] == "canary/t/000004"
    assert ops[2].value["arrived"] == []
    assert ops[3].value["arrived"] == ["canary/t/000001", "canary/t/000002", "canary/t/000003"]
    assert ops[0].value["lag_s"] is None  # nothing measured yet
    # the lag at the third sample is the age of canary 1, written at the first
    assert ops[2].value["lag_s"] >= ops[2].start - ops[0].end
    assert ops[3].value["lag_s"] < ops[3].end - ops[0].start  # the delay of canary 3
    assert all(op.outcome == "ok" for op in ops)


def test_a_canary_that_cannot_be_written_is_a_failed_sample(regions):
    primary, dr = regions
    history = History()
    canary = CrrCanary(history, lambda: primary, lambda: dr, "no-such-bucket", run="t")
    canary._tick()
    [op] = history.ops("crr:no-such-bucket")
    assert op.outcome == "fail"
    assert "NoSuchBucket" in op.error
    assert op.value["written"] is None and op.value["pending"] == 0


def test_the_crr_chart_draws_lag_waiting_objects_alert_and_marks(tmp_path, monkeypatch):
    drawn: dict[str, list] = {"lines": [], "hlines": [], "vlines": []}
    real_subplots = plt.subplots

    def spying_subplots(*args, **kwargs):
        fig, ax = real_subplots(*args, **kwargs)
        for name, key in (("axhline", "hlines"), ("axvline", "vlines")):
            original = getattr(ax, name)
            monkeypatch.setattr(
                ax, name, lambda *a, _o=original, _k=key, **kw: drawn[_k].append(a) or _o(*a, **kw)
            )
        return fig, ax

    monkeypatch.setattr(plt, "subplots", spying_subplots)
    path = crr_lag_png(
        samples(BLOCKED),
        tmp_path / "crr.png",
        buckets=[BUCKET],
        t0=T0 + 5,
        marks={"s3-crr restored": RESTORED_AT},
        alert_s=60,
        title="t",
    )
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert drawn["hlines"] == [(60,)]
    assert drawn["vlines"] == [(0.0,), (RESTORED_AT - T0 - 5,)]
