"""The node agent runs a Pod's container as a kubelet would: `$(VAR)` expansion, the
downward API, the readiness probe's settings, and the status it reports."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from drillbook.stack.node_agent import PodProcess, ReadinessProbe, container_env, expand

POD_IP = "127.1.0.5"
NODE_IP = "127.1.0.1"
WAIT_S = 10.0


@pytest.mark.parametrize(
    ("text", "expanded"),
    [
        ("$(POD_IP)", POD_IP),
        ("--listen=$(POD_IP):$(PORT)", f"--listen={POD_IP}:8080"),
        ("$(MISSING)", "$(MISSING)"),
        ("$(POD_IP)/$(MISSING)", f"{POD_IP}/$(MISSING)"),
        ("$$(POD_IP)", "$(POD_IP)"),
        ("cost: $$5", "cost: $5"),
        ("$$$(PORT)", "$8080"),
        ("$POD_IP ${POD_IP} $(1X) $", "$POD_IP ${POD_IP} $(1X) $"),
        ("plain", "plain"),
    ],
)
def test_expand_replaces_defined_variables_only(text, expanded):
    assert expand(text, {"POD_IP": POD_IP, "PORT": "8080"}) == expanded


def pod(env: list[dict] | None = None, **container: object) -> dict:
    """A Pod bound to node-az-a, as the API server serves it."""
    spec = {"name": "app", "image": "glancy/app:v1", **container}
    if env is not None:
        spec["env"] = env
    return {
        "metadata": {
            "name": "lookup-bff-az-a-7d9f-x2x4",
            "namespace": "prod",
            "uid": "6f1c",
            "creationTimestamp": "2026-01-02T03:04:05Z",
        },
        "spec": {"nodeName": "node-az-a", "containers": [spec]},
    }


def field(name: str, path: str) -> dict:
    return {"name": name, "valueFrom": {"fieldRef": {"fieldPath": path}}}


def test_container_env_holds_values_and_downward_api_fields():
    env = [
        {"name": "GLANCY_VERSION", "value": "v2"},
        field("POD_IP", "status.podIP"),
        field("POD_NAME", "metadata.name"),
        field("POD_NAMESPACE", "metadata.namespace"),
        field("NODE", "spec.nodeName"),
        {"name": "EMPTY"},
    ]
    assert container_env(pod(env), POD_IP) == {
        "GLANCY_VERSION": "v2",
        "POD_IP": POD_IP,
        "POD_NAME": "lookup-bff-az-a-7d9f-x2x4",
        "POD_NAMESPACE": "prod",
        "NODE": "node-az-a",
        "EMPTY": "",
    }


def test_a_value_expands_the_variables_defined_before_it_only():
    env = [
        {"name": "URL", "value": "http://$(POD_IP):$(PORT)/"},
        field("POD_IP", "status.podIP"),
        {"name": "PORT", "value": "8080"},
        {"name": "SELF", "value": "http://$(POD_IP):$(PORT)/"},
    ]
    found = container_env(pod(env), POD_IP)
    assert found["URL"] == "http://$(POD_IP):$(PORT)/"
    assert found["SELF"] == f"http://{POD_IP}:8080/"


def test_a_container_without_env_gets_no_variable():
    assert container_env(pod(), POD_IP) == {}


def test_an_unsupported_field_is_refused_naming_it():
    with pytest.raises(ValueError) as raised:
        container_env(pod([field("HOST_IP", "status.hostIP")]), POD_IP)
    message = str(raised.value)
    assert "env HOST_IP" in message and "field status.hostIP is not supported" in message
    assert "status.podIP" in message  # what is supported


def test_a_named_probe_port_is_the_container_port_of_that_name():
    container = {
        "ports": [{"name": "admin", "containerPort": 9090}, {"name": "http", "containerPort": 80}],
        "readinessProbe": {"httpGet": {"path": "/healthz", "port": "http"}},
    }
    probe = ReadinessProbe.of(container)
    assert (probe.path, probe.port) == ("/healthz", 80)


def test_a_numbered_probe_port_is_used_as_written():
    probe = ReadinessProbe.of({"readinessProbe": {"httpGet": {"path": "/", "port": 8080}}})
    assert probe.port == 8080


def test_a_probe_port_name_no_port_has_resolves_to_none():
    container = {"ports": [{"name": "http", "containerPort": 80}]}
    container["readinessProbe"] = {"httpGet": {"path": "/", "port": "metrics"}}
    assert ReadinessProbe.of(container).port is None


def test_probe_settings_default_as_kubernetes_does():
    probe = ReadinessProbe.of({"readinessProbe": {"httpGet": {"port": 8080}}})
    assert probe.path == "/"
    assert (probe.period_s, probe.timeout_s, probe.initial_delay_s) == (10, 1, 0)
    assert (probe.success_threshold, probe.failure_threshold) == (1, 3)


def test_probe_settings_written_are_kept():
    written = {
        "httpGet": {"path": "/healthz", "port": 8080},
        "periodSeconds": 1,
        "timeoutSeconds": 2,
        "successThreshold": 2,
        "failureThreshold": 5,
        "initialDelaySeconds": 3,
    }
    probe = ReadinessProbe.of({"readinessProbe": written})
    assert (probe.period_s, probe.timeout_s, probe.initial_delay_s) == (1, 2, 3)
    assert (probe.success_threshold, probe.failure_threshold) == (2, 5)


def test_a_container_without_readiness_probe_has_no_probe_path():
    assert ReadinessProbe.of({"name": "app"}).path is None


def pod_process(tmp_path: Path, command: list[str], env: list[dict] | None = None) -> PodProcess:
    spec = pod(env, command=command, readinessProbe={"httpGet": {"path": "/", "port": 1}})
    return PodProcess(
        spec, POD_IP, tmp_path / "pod.log", ReadinessProbe.of(spec["spec"]["containers"][0])
    )


def ready_condition(status: dict) -> str:
    return next(c["status"] for c in status["conditions"] if c["type"] == "Ready")


def test_a_started_container_runs_its_expanded_command_with_its_env(tmp_path):
    show = "import os, sys; print(sys.argv[1:], os.environ['POD_IP'], os.environ['GLANCY_VERSION'])"
    env = [field("POD_IP", "status.podIP"), {"name": "GLANCY_VERSION", "value": "v2"}]
    running = pod_process(tmp_path, [sys.executable, "-c", show, "--host", "$(POD_IP)"], env)
    running.start()
    assert running.process.wait(timeout=WAIT_S) == 0
    assert running.log_path.read_text() == f"['--host', '{POD_IP}'] {POD_IP} v2\n"


def test_status_of_a_container_never_started_is_waiting_and_not_ready(tmp_path):
    status = pod_process(tmp_path, ["true"]).status(NODE_IP)
    assert ready_condition(status) == "False"
    [container] = status["containerStatuses"]
    assert container["state"] == {"waiting": {"reason": "CrashLoopBackOff"}}
    assert (container["ready"], container["started"]) == (False, False)


def test_status_is_ready_only_while_the_process_runs_and_the_probe_passed(tmp_path):
    running = pod_process(tmp_path, [sys.executable, "-c", "import time; time.sleep(60)"])
    running.start()
    try:
        status = running.status(NODE_IP)
        assert ready_condition(status) == "False", "running, but the probe has not passed yet"
        assert status["containerStatuses"][0]["started"] is True
        running.ready = True
        status = running.status(NODE_IP)
        assert ready_condition(status) == "True"
        conditions = {c["type"]: c["status"] for c in status["conditions"]}
        assert conditions == {
            "PodScheduled": "True",
            "Initialized": "True",
            "ContainersReady": "True",
            "Ready": "True",
        }
        [container] = status["containerStatuses"]
        assert container["ready"] is True
        assert container["state"] == {"running": {"startedAt": running.started_at}}
        assert (container["name"], container["image"]) == ("app", "glancy/app:v1")
        assert status["phase"] == "Running"
        assert (status["podIP"], status["podIPs"]) == (POD_IP, [{"ip": POD_IP}])
        assert (status["hostIP"], status["hostIPs"]) == (NODE_IP, [{"ip": NODE_IP}])
        assert status["startTime"] == "2026-01-02T03:04:05Z"
    finally:
        running.stop(grace_s=WAIT_S)
    # the probe's last verdict is stale once the process is gone
    assert running.ready is True
    assert ready_condition(running.status(NODE_IP)) == "False"


def test_status_reports_restarts_and_the_last_exit_code(tmp_path):
    running = pod_process(tmp_path, [sys.executable, "-c", "raise SystemExit(3)"])
    running.start()
    running.last_exit = running.process.wait(timeout=WAIT_S)
    running.restarts = 2
    [container] = running.status(NODE_IP)["containerStatuses"]
    assert container["restartCount"] == 2
    assert container["lastState"] == {"terminated": {"exitCode": 3}}
    assert (
        "lastState" not in pod_process(tmp_path, ["true"]).status(NODE_IP)["containerStatuses"][0]
    )
