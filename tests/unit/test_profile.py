import os
from pathlib import Path

import pytest

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


def test_staging_profile_resolves_secrets_from_the_environment():
    env = {
        f"DRILLBOOK_STAGING_{k}": f"value-{k}"
        for k in ("SERVICE_URL", "PG_PRIMARY_DSN", "PG_STANDBY_DSN", "REDIS_URL", "TOXIPROXY_URL")
    }
    profile = load_profile(ROOT / "environments" / "staging.yaml", env)
    assert profile.live["postgres_primary_dsn"] == "value-PG_PRIMARY_DSN"
    assert profile.destructive is False


def test_missing_environment_variable_is_named(tmp_path):
    with pytest.raises(ProfileError, match=r"live.service_url.*DRILLBOOK_STAGING_SERVICE_URL"):
        load_profile(ROOT / "environments" / "staging.yaml", {})


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


@pytest.mark.parametrize(
    "line",
    [
        "  postgres_primary_dsn: postgresql://glancy@db/glancy",
        "  service_url: https://ops:hunter2@glancy.example.com",
    ],
)
def test_secret_written_in_the_file_is_refused(tmp_path, line):
    live = "live:\n  service_url: https://glancy.example.com\n  postgres_primary_dsn: ${PG_DSN}\n"
    key = line.split(":")[0].strip()
    text = GOOD.replace("kind: local", "kind: live").split("local:\n")[0] + live
    text = "\n".join(line if ln.strip().startswith(key + ":") else ln for ln in text.splitlines())
    path = write(tmp_path, text)
    with pytest.raises(ProfileError, match=rf"'live.{key}': holds a secret written in the file"):
        load_profile(path, {"PG_DSN": "postgresql://x"})


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
