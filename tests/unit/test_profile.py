import os
import re
from pathlib import Path

import pytest

from drillbook.environments.live.operations import OPERATIONS
from drillbook.profile import ProfileError, load_profile, profile_path

ROOT = Path(__file__).resolve().parents[2]
GOOD = (ROOT / "environments" / "local.yaml").read_text(encoding="utf-8")


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "env.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def program(path: Path, mode: int = 0o755) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n", encoding="utf-8")
    path.chmod(mode)
    return path


def fake_pg_bin_dir(tmp_path: Path) -> Path:
    bin_dir = tmp_path / "pg" / "bin"
    for name in ("initdb", "postgres"):
        program(bin_dir / name)
    return bin_dir


def local_profile(tmp_path: Path, pg_bin_dir: Path, **tools: str) -> Path:
    """The local profile with another pg_bin_dir and the given `local.` tool keys."""
    local = f"  pg_bin_dir: {pg_bin_dir}\n" + "".join(f"  {k}: {v}\n" for k, v in tools.items())
    text = GOOD.replace("  pg_bin_dir: /usr/lib/postgresql/15/bin\n", local)
    assert str(pg_bin_dir) in text
    return write(tmp_path, text)


def test_local_profile_loads():
    profile = load_profile(ROOT / "environments" / "local.yaml")
    assert profile.kind == "local"
    assert profile.destructive is True
    assert profile.workload["window_s"] == 1.0
    assert profile.local["pg_bin_dir"].endswith("/bin")


STAGING = ROOT / "environments" / "staging.yaml"


def fake_staging_environ() -> dict[str, str]:
    """A value of the right shape for every variable staging.yaml names."""
    names = re.findall(r"\$\{(\w+)\}", STAGING.read_text(encoding="utf-8"))
    return {name: fake_value(name) for name in names}


def fake_value(name: str) -> str:
    if name.endswith("DSN"):
        return f"postgresql://drill@{name.lower()}.invalid/glancy"
    if name.endswith(("URL", "ENDPOINT")):
        return f"https://{name.lower().replace('_', '-')}.invalid"
    return f"value-{name}"


def test_staging_profile_resolves_its_endpoints_from_the_environment():
    env = fake_staging_environ()
    profile = load_profile(STAGING, env)
    endpoints = profile.live["endpoints"]
    assert endpoints["postgres"]["az-a"] == env["DRILLBOOK_STAGING_PG_AZ_A_DSN"]
    assert endpoints["primary_zone"] == "az-a"
    assert endpoints["s3"]["ap-northeast-1"]["secret_access_key"] == (
        "value-DRILLBOOK_STAGING_S3_TYO_SECRET_ACCESS_KEY"
    )
    assert profile.destructive is False
    assert sorted(profile.live["bindings"]) == sorted(OPERATIONS)
    assert profile.allow_faults == (
        "database.kill_primary",
        "cache.kill_primary",
        "network.cut",
        "network.latency",
    )
    assert profile.stop_conditions["sla_floor"] == {"success_rate": 0.95, "for_s": 10.0}
    assert profile.stop_conditions["alarm"]["url"] == env["DRILLBOOK_STAGING_ALARM_URL"]


def test_staging_without_its_variables_names_the_first_one_missing():
    with pytest.raises(ProfileError) as err:
        load_profile(STAGING, {})
    assert str(err.value) == (
        f"{STAGING}: key 'live.endpoints.service': environment variable "
        "DRILLBOOK_STAGING_SERVICE_URL is not set"
    )


def test_unknown_key_names_file_and_key(tmp_path):
    path = write(tmp_path, GOOD.replace("  window_s: 1.0", "  window_s: 1.0\n  windwo: 3"))
    with pytest.raises(ProfileError) as err:
        load_profile(path)
    assert str(path) in str(err.value)
    assert "'workload.windwo'" in str(err.value)
    assert "unknown key" in str(err.value)


def test_missing_field_is_named(tmp_path):
    path = write(tmp_path, GOOD.replace("  probe_timeout_ms: 1000\n", ""))
    with pytest.raises(ProfileError, match=r"'workload.probe_timeout_ms': missing"):
        load_profile(path)


def test_wrong_type_is_named(tmp_path):
    path = write(tmp_path, GOOD.replace("destructive: true", "destructive: maybe"))
    with pytest.raises(ProfileError, match=r"'destructive': must be bool"):
        load_profile(path)


LIVE = """name: live
kind: live
destructive: false
runbook_url: https://wiki.example.com/dr
workload: {probe_timeout_ms: 1000, window_s: 1.0, window_requests: 20}
timeouts: {ready_s: 5}
live:
  endpoints:
    service: https://glancy.example.com
    postgres:
      az-a: ${PG_A}
      az-b: ${PG_B}
    primary_zone: az-a
    s3:
      ap-southeast-1:
        endpoint: https://s3.example.com
        access_key_id: ${S3_KEY}
        secret_access_key: ${S3_SECRET}
"""
LIVE_ENV = {"PG_A": "postgresql://a", "PG_B": "host=b", "S3_KEY": "k", "S3_SECRET": "s"}


def live_profile(tmp_path: Path, old: str = "", new: str = "", extra: str = "") -> Path:
    assert old in LIVE
    return write(tmp_path, LIVE.replace(old, new) + extra)


def test_a_live_profile_gets_its_endpoints_defaults(tmp_path):
    profile = load_profile(live_profile(tmp_path), LIVE_ENV)
    endpoints = profile.live["endpoints"]
    assert endpoints["service_admin"] == ["https://glancy.example.com"]
    assert endpoints["postgres_app"] == {"az-a": "postgresql://a", "az-b": "host=b"}
    assert profile.live["bindings"] == {}
    assert profile.stop_conditions == {} and profile.allow_faults is None


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ("az-a: ${PG_A}", "az-a: postgresql://glancy@db/glancy", "live.endpoints.postgres.az-a"),
        (
            "service: https://glancy.example.com",
            "service: https://ops:hunter2@glancy.example.com",
            "live.endpoints.service",
        ),
        (
            "access_key_id: ${S3_KEY}",
            "access_key_id: AKIA123",
            "live.endpoints.s3.ap-southeast-1.access_key_id",
        ),
        (
            "secret_access_key: ${S3_SECRET}",
            "secret_access_key: abc",
            "live.endpoints.s3.ap-southeast-1.secret_access_key",
        ),
        (
            "endpoint: https://s3.example.com",
            "endpoint: 'https://s3.example.com/?x=1 password=pw'",
            "live.endpoints.s3.ap-southeast-1.endpoint",
        ),
    ],
)
def test_secret_written_in_the_file_is_refused(tmp_path, old, new, key):
    with pytest.raises(ProfileError, match=rf"'{key}': holds a secret written in the file"):
        load_profile(live_profile(tmp_path, old, new), LIVE_ENV)


@pytest.mark.parametrize(
    ("old", "new", "key", "problem"),
    [
        (
            "    service: https://glancy.example.com\n",
            "    service: https://glancy.example.com\n    service_admin: [https://r1, r2]\n",
            "live.endpoints.service_admin[1]",
            "must be an absolute URL (scheme://host...)",
        ),
        (
            "    service: https://glancy.example.com\n",
            "    service: https://glancy.example.com\n    service_admin: https://r1\n",
            "live.endpoints.service_admin",
            "must be a list, not 'https://r1'",
        ),
        (
            "primary_zone: az-a",
            "primary_zone: az-c",
            "live.endpoints.primary_zone",
            "'az-c' is not one of live.endpoints.postgres (az-a, az-b)",
        ),
        (
            "    primary_zone: az-a\n",
            "",
            "live.endpoints.primary_zone",
            "missing: the zone written to when nothing is broken",
        ),
        (
            "    primary_zone: az-a\n",
            "    primary_zone: az-a\n    postgres_app: {az-c: '${PG_A}'}\n",
            "live.endpoints.postgres_app.az-c",
            "'az-c' is not one of live.endpoints.postgres (az-a, az-b)",
        ),
        (
            "    primary_zone: az-a\n",
            "    primary_zone: az-a\n    redis: {master: 'redis://r:6379'}\n",
            "live.endpoints.redis.master",
            "'master' is not one of the nodes (primary, replica)",
        ),
        (
            "    primary_zone: az-a\n",
            "    primary_zone: az-a\n    storage: {primary_region: ap-southeast-1, "
            "dr_region: eu-west-1, exports_bucket: b, replication_link: crr}\n",
            "live.endpoints.storage.dr_region",
            "'eu-west-1' is not one of live.endpoints.s3 (ap-southeast-1)",
        ),
        (
            "    postgres:\n      az-a: ${PG_A}\n      az-b: ${PG_B}\n",
            "    postgres: [az-a]\n",
            "live.endpoints.postgres",
            "must be a mapping",
        ),
        (
            "  endpoints:\n",
            "  service_url: https://glancy.example.com\n  endpoints:\n",
            "live.service_url",
            "unknown key (allowed here: bindings, endpoints)",
        ),
        (
            "    primary_zone: az-a\n",
            "    primary_zone: az-a\n    monitoring: {prometheus: 'http://p:9090', "
            "alert_receiver: 'http://a:9099', scrape_interval_s: 0}\n",
            "live.endpoints.monitoring.scrape_interval_s",
            "must be positive, not 0",
        ),
        (
            "    primary_zone: az-a\n",
            "    primary_zone: az-a\n    monitoring: {prometheus: 'http://p:9090', "
            "alert_receiver: 'http://a:9099', scrape_interval_s: .nan}\n",
            "live.endpoints.monitoring.scrape_interval_s",
            "must be positive, not nan",
        ),
    ],
)
def test_wrong_endpoints_are_refused_naming_the_key(tmp_path, old, new, key, problem):
    path = live_profile(tmp_path, old, new)
    with pytest.raises(ProfileError) as err:
        load_profile(path, LIVE_ENV)
    assert str(err.value) == f"{path}: key '{key}': {problem}"


def test_bindings_are_parsed_with_the_profile(tmp_path):
    bindings = (
        "  bindings:\n"
        "    database.promote:\n"
        '      run: {kind: sql, dsn: "{zone}", statement: "SELECT pg_promote(true, 60)"}\n'
    )
    profile = load_profile(live_profile(tmp_path, extra=bindings), LIVE_ENV)
    assert profile.live["bindings"]["database.promote"].run.dsn == "{zone}"


def test_stop_conditions_and_allowed_faults_are_read(tmp_path):
    extra = (
        "stop_conditions:\n"
        "  stop_file: /var/run/drillbook.stop\n"
        "  alarm: {url: https://alarms.example.com/glancy, field: state, firing: ALARM}\n"
        "allow_faults: [database.kill_primary, network.cut]\n"
    )
    profile = load_profile(live_profile(tmp_path, extra=extra), LIVE_ENV)
    assert profile.stop_conditions == {
        "stop_file": "/var/run/drillbook.stop",
        "alarm": {
            "url": "https://alarms.example.com/glancy",
            "field": "state",
            "firing": "ALARM",
            "every_s": 2.0,
            "timeout_s": 2.0,
        },
    }
    assert profile.allow_faults == ("database.kill_primary", "network.cut")


@pytest.mark.parametrize(
    ("extra", "key", "problem"),
    [
        (
            "allow_faults: [network.cut, database.promote]\n",
            "allow_faults[1]",
            "'database.promote' is no fault (faults: database.kill_primary,",
        ),
        (
            "stop_conditions: {sla_floor: {success_rate: 95, for_s: 10}}\n",
            "stop_conditions.sla_floor.success_rate",
            "must be in (0, 1]",
        ),
        (
            "stop_conditions: {alarm: {url: https://a, field: s, firing: F, every_s: 0}}\n",
            "stop_conditions.alarm.every_s",
            "must be positive, not 0.0",
        ),
        ("stop_conditions: {stop_fiel: /x}\n", "stop_conditions.stop_fiel", "unknown key"),
    ],
)
def test_wrong_stop_conditions_and_allowed_faults_are_refused(tmp_path, extra, key, problem):
    path = live_profile(tmp_path, extra=extra)
    with pytest.raises(ProfileError) as err:
        load_profile(path, LIVE_ENV)
    assert str(err.value).startswith(f"{path}: key '{key}': {problem}")


def test_malformed_yaml_gives_the_line(tmp_path):
    path = write(tmp_path, "name: local\nkind: [local\n")
    with pytest.raises(ProfileError, match=r"not valid YAML at line"):
        load_profile(path)


def test_unknown_environment_lists_known_ones():
    with pytest.raises(ProfileError, match=r"no such environment 'prod'.*local.*staging"):
        profile_path("prod", ROOT / "environments")


def test_the_profiles_carry_no_timeout_that_nothing_reads():
    profile = load_profile(ROOT / "environments" / "local.yaml")
    assert profile.timeouts == {"ready_s": 30.0}


@pytest.mark.parametrize("key", ["recovery_s", "step_s"])
def test_an_old_profile_with_unread_timeouts_gets_the_unknown_key_error(tmp_path, key):
    path = write(tmp_path, GOOD.replace("  ready_s: 30\n", f"  ready_s: 30\n  {key}: 60\n"))
    with pytest.raises(ProfileError) as err:
        load_profile(path)
    assert f"'timeouts.{key}': unknown key (allowed here: ready_s)" in str(err.value)
    assert str(path) in str(err.value)


def test_a_local_profile_with_its_programs_loads(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(program(tmp_path / "path" / "mc").parent))
    monkeypatch.chdir(tmp_path)
    program(tmp_path / "tools" / "minio")
    path = local_profile(
        tmp_path,
        fake_pg_bin_dir(tmp_path),
        redis_server=str(program(tmp_path / "tools" / "redis-server")),
        minio="tools/minio",
        mc="mc",
    )
    profile = load_profile(path)
    assert profile.local["minio"] == "tools/minio"
    assert profile.local["mc"] == "mc"


def test_a_missing_pg_bin_dir_is_refused_when_the_profile_loads(tmp_path):
    missing = tmp_path / "postgresql" / "14" / "bin"
    path = local_profile(tmp_path, missing)
    with pytest.raises(ProfileError) as err:
        load_profile(path)
    assert str(err.value) == (
        f"{path}: key 'local.pg_bin_dir': {missing} does not exist (no initdb there)"
    )


@pytest.mark.parametrize("absent", ["initdb", "postgres"])
def test_a_pg_bin_dir_without_a_postgresql_program_is_refused(tmp_path, absent):
    bin_dir = fake_pg_bin_dir(tmp_path)
    (bin_dir / absent).unlink()
    with pytest.raises(ProfileError, match=rf"'local.pg_bin_dir': .* has no executable {absent}$"):
        load_profile(local_profile(tmp_path, bin_dir))


def test_a_pg_bin_dir_whose_initdb_cannot_run_is_refused(tmp_path):
    bin_dir = fake_pg_bin_dir(tmp_path)
    (bin_dir / "initdb").chmod(0o644)
    if os.access(bin_dir / "initdb", os.X_OK):
        pytest.skip("this user may execute any file")
    with pytest.raises(ProfileError, match=r"'local.pg_bin_dir': .* has no executable initdb$"):
        load_profile(local_profile(tmp_path, bin_dir))


def test_a_pg_bin_dir_that_is_a_file_is_refused(tmp_path):
    not_a_dir = program(tmp_path / "initdb")
    with pytest.raises(ProfileError, match=r"'local.pg_bin_dir': .* is not a directory$"):
        load_profile(local_profile(tmp_path, not_a_dir))


@pytest.mark.parametrize("key", ["redis_server", "toxiproxy_server", "minio", "mc"])
def test_a_tool_path_that_does_not_exist_is_refused_naming_the_key(tmp_path, key):
    missing = tmp_path / "nowhere" / key
    path = local_profile(tmp_path, fake_pg_bin_dir(tmp_path), **{key: str(missing)})
    with pytest.raises(ProfileError) as err:
        load_profile(path)
    assert str(err.value) == f"{path}: key 'local.{key}': {missing} does not exist"


def test_a_tool_name_not_on_path_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    path = local_profile(tmp_path, fake_pg_bin_dir(tmp_path), redis_server="redis-server")
    with pytest.raises(
        ProfileError, match=r"'local.redis_server': redis-server is not found on PATH"
    ):
        load_profile(path)


def test_a_tool_that_is_not_executable_is_refused(tmp_path):
    text_file = program(tmp_path / "minio", mode=0o644)
    if os.access(text_file, os.X_OK):
        pytest.skip("this user may execute any file")
    path = local_profile(tmp_path, fake_pg_bin_dir(tmp_path), minio=str(text_file))
    with pytest.raises(ProfileError, match=r"'local.minio': .* is not an executable file$"):
        load_profile(path)
