"""The cross-region Then steps and waits: the RTO of a cutover (bounded by the failback's
fence), the failback's own RTO, and the LLM answers of one region while the drill acts."""

from __future__ import annotations

from pathlib import Path

import pytest

from drillbook.capabilities.operation import REMEDIATION
from drillbook.capabilities.service import TAKE_OVER
from drillbook.conditions import resolve
from drillbook.drill import NEMESIS, CheckFailed, MissingStep
from drillbook.profile import load_profile
from drillbook.workload import History, Op
from steps import region
from steps.llm import LOOKUPS
from tests.drills import make_drill

ROOT = Path(__file__).resolve().parents[2]
PROFILE = load_profile(ROOT / "environments" / "local.yaml")
T0 = 1_700_000_000.0
STANDBY, HOME = "ap-northeast-1", "ap-southeast-1"

pytestmark = pytest.mark.filterwarnings("ignore:.*not added to the Allure report")


def probed(*outages: tuple[float, float], until_s: float = 40) -> History:
    """/lookup probed at 20 Hz from T0 to T0+`until_s`, failing within each (from, to) in
    seconds after T0."""
    history = History()
    for i in range(int(until_s * 20)):
        start = T0 + i / 20
        down = any(T0 + a <= start < T0 + b for a, b in outages)
        history.record(Op("probe:/lookup", "GET", start, start + 0.01, "fail" if down else "ok"))
    return history


def take_over(history: History, where: str, at: float) -> None:
    value = {"kind": TAKE_OVER, "target": f"region {where}"}
    history.record(Op(NEMESIS, REMEDIATION, at, at + 1, "ok", value))


def cutover_and_failback(tmp_path: Path):
    """Cut at T0, down 6 s, ap-northeast-1 took over at T0+3 s; the failback fenced it at
    T0+20 s and the service was down 4 s more."""
    history = probed((0, 6), (20, 24))
    take_over(history, STANDBY, T0 + 3)
    take_over(history, HOME, T0 + 20)
    return make_drill(history, tmp_path, t0=T0)


def test_the_cutovers_rto_ends_at_the_failbacks_fence(tmp_path):
    drill = cutover_and_failback(tmp_path)

    region.rto_of_cutover(drill, PROFILE, STANDBY, 45, "minutes")

    result = drill.verdicts[-1].result
    assert result.name == f"RTO of the cutover to {STANDBY}"
    assert result.figure == pytest.approx(6, abs=0.06)
    assert result.details["until"] == T0 + 20
    with pytest.raises(CheckFailed, match=rf"RTO of the cutover to {STANDBY} check failed"):
        region.rto_of_cutover(drill, PROFILE, STANDBY, 5, "seconds")


def test_the_failbacks_rto_runs_from_its_takeover(tmp_path):
    drill = cutover_and_failback(tmp_path)

    region.rto_from_takeover(drill, PROFILE, HOME, 30, "minutes")

    assert drill.verdicts[-1].result.figure == pytest.approx(4, abs=0.06)
    with pytest.raises(CheckFailed, match=rf"RTO from the takeover by {HOME} check failed"):
        region.rto_from_takeover(drill, PROFILE, HOME, 3, "seconds")


def test_the_takeover_rtos_name_the_step_they_need(tmp_path):
    drill = make_drill(probed((0, 6)), tmp_path, t0=T0)
    needed = f"'When the warm standby in {STANDBY} takes over' earlier"
    with pytest.raises(MissingStep, match=needed):
        region.rto_of_cutover(drill, PROFILE, STANDBY, 45, "minutes")
    with pytest.raises(MissingStep, match=needed):
        region.rto_from_takeover(drill, PROFILE, STANDBY, 45, "minutes")


def test_lookups_in_full_from_a_region_wait_for_that_regions_full_answer(tmp_path):
    poll_factory, kwargs = resolve(f"lookups are answered in full from {STANDBY}")
    history = History()
    poll = poll_factory(drill=make_drill(history, tmp_path), **kwargs)

    assert poll() == (False, "no lookup probed yet")
    for at, value in (
        (T0, {"region": HOME, "degraded": False}),  # the other region
        (T0 + 1, {"region": STANDBY, "degraded": True}),  # the region, without the LLM
    ):
        history.record(Op(LOOKUPS, "GET", at, at + 0.01, "ok", value=value))
        assert not poll()[0]
    history.record(
        Op(LOOKUPS, "GET", T0 + 2, T0 + 2.01, "ok", {"region": STANDBY, "degraded": False})
    )
    assert poll()[0]


def test_the_failbacks_object_diff_is_the_takeovers_and_fails_on_a_missing_version(tmp_path):
    drill = make_drill(probed(), tmp_path, t0=T0)
    counts = {HOME: 1, STANDBY: 2}
    missing = {"exports/a.json v2": {HOME: "missing", STANDBY: '"e2"'}}
    objects = {"glancy-exports": {"versions": counts, "differing": 1, "first": missing}}
    drill.remember(region.TakenOver({"objects": objects}), key=HOME)

    with pytest.raises(CheckFailed, match="1 versions differ .*exports/a.json v2: missing in"):
        region.no_object_differed(drill, HOME)
    drill.remember(region.TakenOver({}), key=HOME)
    with pytest.raises(CheckFailed, match="not measured: the takeover recorded no diff of obj"):
        region.no_object_differed(drill, HOME)
