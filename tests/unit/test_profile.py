from pathlib import Path

import pytest

from drillbook.profile import ProfileError, load_profile, profile_path

ROOT = Path(__file__).resolve().parents[2]
GOOD = (ROOT / "environments" / "local.yaml").read_text(encoding="utf-8")


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "env.yaml"
    path.write_text(text, encoding="utf-8")
    return path


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
