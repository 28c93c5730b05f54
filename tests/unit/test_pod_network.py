"""Pod subnets are claimed machine-wide: two stacks never share one, a killed run's is reused."""

from __future__ import annotations

import ipaddress

import pytest

from drillbook.stack import pod_network


@pytest.fixture(autouse=True)
def claims(tmp_path, monkeypatch):
    monkeypatch.setattr(pod_network, "CLAIMS", tmp_path / "claims")
    monkeypatch.setattr(pod_network, "loopback_addresses", lambda: set())
    monkeypatch.setattr(pod_network, "_ip", lambda *args: "")


def test_two_stacks_starting_together_get_different_subnets(tmp_path):
    first = pod_network.claim_subnet(tmp_path / "run-1")
    second = pod_network.claim_subnet(tmp_path / "run-2")
    assert first != second
    assert pod_network.claimed_subnet(tmp_path / "run-1") == first


def test_a_subnet_with_addresses_in_use_is_skipped(tmp_path, monkeypatch):
    taken = ipaddress.ip_address("198.18.0.7")
    monkeypatch.setattr(pod_network, "loopback_addresses", lambda: {taken})
    assert taken not in pod_network.claim_subnet(tmp_path / "run-1")


def test_the_claim_of_a_run_whose_folder_is_gone_is_taken_over(tmp_path):
    killed = tmp_path / "killed-run"
    first = pod_network.claim_subnet(killed)
    (killed / pod_network.SUBNET_FILE).unlink()
    killed.rmdir()
    assert pod_network.claim_subnet(tmp_path / "next-run") == first


def test_a_released_subnet_can_be_claimed_again(tmp_path):
    first = pod_network.claim_subnet(tmp_path / "run-1")
    pod_network.release_subnet(tmp_path / "run-1")
    assert pod_network.claim_subnet(tmp_path / "run-2") == first
