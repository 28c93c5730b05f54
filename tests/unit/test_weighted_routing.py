"""Weighted routing: the pre-check that it is configured, and the weights that move a share of
the traffic to one region."""

from __future__ import annotations

import pytest

from drillbook.checks.weighted_routing import weighted_routing
from drillbook.platform.cloud import shifted_weights
from drillbook.stack.front_door import resolved_weights

A, B = "ap-southeast-1", "ap-northeast-1"


def record(set_id: str | None, weight: int, value: str | None = "127.0.0.10") -> dict:
    return {"set_id": set_id, "weight": weight, "ttl": 5, "value": value}


def test_a_record_per_region_with_the_weight_on_one_is_configured():
    result = weighted_routing("api.glancy", [record(A, 100), record(B, 0, "127.0.0.11")])
    assert result.passed and result.shown == "configured"
    assert result.explanation == (
        "api.glancy is weighted: ap-southeast-1 -> 127.0.0.10 weight 100 TTL 5 s; "
        "ap-northeast-1 -> 127.0.0.11 weight 0 TTL 5 s"
    )


@pytest.mark.parametrize(
    ("records", "why"),
    [
        ([], "api.glancy has 0 weighted record(s), a cutover needs 2: no record"),
        ([record(A, 100)], "api.glancy has 1 weighted record(s), a cutover needs 2"),
        ([record(A, 100), record(B, 0, value=None)], "without a SetIdentifier or a value: " + B),
        ([record(A, 100), record(None, 0)], "records without a SetIdentifier or a value: (no"),
        ([record(A, 0), record(B, 0)], "api.glancy: every weight is 0"),
    ],
)
def test_routing_with_nowhere_to_move_the_weight_is_not_configured(records, why):
    result = weighted_routing("api.glancy", records)
    assert not result.passed and result.shown == "not configured"
    assert why in result.explanation


def test_all_the_weight_moves_to_one_region():
    assert shifted_weights({A: 100, B: 0}, B, 100) == {B: 100, A: 0}


def test_the_rest_is_shared_in_proportion_to_the_other_records_weights():
    assert shifted_weights({A: 30, B: 0, "c": 10}, B, 20) == {B: 20, A: 60, "c": 20}


def test_the_rest_is_shared_evenly_by_records_without_weight_and_still_adds_up_to_100():
    weights = shifted_weights({A: 0, B: 100, "c": 0, "d": 0}, B, 0)
    assert weights == {B: 0, A: 34, "c": 33, "d": 33}


@pytest.mark.parametrize(
    ("current", "to", "share", "error"),
    [
        ({A: 100}, "eu-west-1", 100, "no weighted record 'eu-west-1'"),
        ({A: 100, B: 0}, B, 101, "0 to 100%, not 101%"),
        ({B: 100}, B, 50, "the only weighted record: 50% has nowhere to go"),
    ],
)
def test_impossible_shares_are_refused(current, to, share, error):
    with pytest.raises((KeyError, ValueError), match=error):
        shifted_weights(current, to, share)


def test_the_front_door_resolves_to_the_weighted_records_or_every_one_when_all_are_0():
    records = [record(A, 100, "127.0.0.2"), record(B, 0, "127.0.0.3")]
    assert resolved_weights(records, 8080) == {"127.0.0.2:8080": 100}
    # each record alike, and a record's two values share its half
    records = [record(A, 0, "127.0.0.2"), record(B, 0, "127.0.0.3,127.0.0.4")]
    assert resolved_weights(records, 8080) == {
        "127.0.0.2:8080": 2,
        "127.0.0.3:8080": 1,
        "127.0.0.4:8080": 1,
    }
