from __future__ import annotations

import json

import pytest

from drillbook.evidence.redact import MASK, is_secret_key, redact, redact_obj

SECRET = "S3cr3t-Value"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "postgresql://glancy:S3cr3t@127.0.0.1:5432/glancy",
            "postgresql://glancy:***@127.0.0.1:5432/glancy",
        ),
        ("redis://:S3cr3t@127.0.0.1:6379/0", "redis://:***@127.0.0.1:6379/0"),
        ("rediss://default:S3cr3t@cache.internal:6380", "rediss://default:***@cache.internal:6380"),
        # special characters in the password, unencoded: '@', ':', '/', '#', '?', '!', '%'
        ("postgresql://u:p@ss:w/rd#?!%@db.internal/app", "postgresql://u:***@db.internal/app"),
        # URL-encoded password
        (
            "postgres://export:p%40ss%2Fw%3Ard@primary.db.internal/exports",
            "postgres://export:***@primary.db.internal/exports",
        ),
        # the seed's own example
        (
            "pg_dump postgresql://export:pwd@primary.db.internal/exports --schema=exports",
            "pg_dump postgresql://export:***@primary.db.internal/exports --schema=exports",
        ),
        (
            "dsn='postgresql://a:b@h1/db' other='postgresql://c:d@h2/db'",
            "dsn='postgresql://a:***@h1/db' other='postgresql://c:***@h2/db'",
        ),
    ],
)
def test_url_passwords_are_masked(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_dsn_password_in_query_string_and_keyword_form() -> None:
    assert (
        redact("postgresql://h/db?user=u&password=x%26y&sslmode=require")
        == "postgresql://h/db?user=u&password=***&sslmode=require"
    )
    assert (
        redact("host=127.0.0.1 port=5432 user=glancy password=a;b,c dbname=glancy")
        == "host=127.0.0.1 port=5432 user=glancy password=*** dbname=glancy"
    )
    assert redact("password='with space' dbname=x") == "password='***' dbname=x"


def test_dsn_without_password_is_unchanged() -> None:
    text = "psql 'postgresql://readonly@lookup' -c \"select max(applied_lsn)\""
    assert redact(text) == text


@pytest.mark.parametrize(
    "text",
    [
        f"PGPASSWORD={SECRET} psql -h 127.0.0.1",
        f"export PGPASSWORD='{SECRET}'",
        f'DB_PASSWD="{SECRET}"',
        f"pg_basebackup --password {SECRET} -D /data",
        f"tool --api-token={SECRET}",
        f"requirepass {SECRET}",
        f"  masterauth {SECRET}",
        f"redis-server --port 6379 --requirepass {SECRET} --appendonly yes",
        f"redis-server --masterauth {SECRET}",
        f"client_secret: {SECRET}",
        f"aws_secret_access_key = {SECRET}",
        f"AWS_SESSION_TOKEN={SECRET}",
        f"x-api-key: {SECRET}",
        f"apiKey={SECRET}",
    ],
)
def test_secret_named_values_are_masked(text: str) -> None:
    out = redact(text)
    assert SECRET not in out
    assert MASK in out


def test_json_with_nested_password_keys() -> None:
    doc = {
        "database": {"dsn": "postgresql://glancy:pw1@h/db", "password": "pw2"},
        "replicas": [{"name": "az-b", "credentials": {"Password": 'p"w3', "user": "repl"}}],
        "SecretAccessKey": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "SessionToken": "FwoGZXIvYXdzE",
        "max_tokens": 512,
    }
    out = redact(json.dumps(doc, indent=2))
    for secret in ("pw1", "pw2", 'p\\"w3', "wJalrXUtnFEMI", "FwoGZXIvYXdzE"):
        assert secret not in out
    parsed = json.loads(out)  # still valid JSON
    assert parsed["database"]["password"] == MASK
    assert parsed["replicas"][0]["credentials"]["Password"] == MASK
    assert parsed["replicas"][0]["credentials"]["user"] == "repl"
    assert parsed["max_tokens"] == 512


def test_compact_json_stays_valid() -> None:
    out = redact('{"password":123,"token":"abc","n":1}')
    assert json.loads(out) == {"password": MASK, "token": MASK, "n": 1}


def test_authorization_headers_and_bearer_tokens() -> None:
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"
    assert redact(f"Authorization: Bearer {jwt}") == "Authorization: Bearer ***"
    assert redact("authorization: Basic dXNlcjpwYXNz") == "authorization: Basic ***"
    assert redact('{"Authorization": "token ghp_abc123"}') == '{"Authorization": "token ***"}'
    assert redact(f"curl -H 'X: 1' --oauth2-bearer x; sent Bearer {jwt}") == (
        "curl -H 'X: 1' --oauth2-bearer x; sent Bearer ***"
    )


def test_aws_access_key_id_and_secret_key() -> None:
    text = (
        "[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\n"
        "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n"
    )
    out = redact(text)
    assert "IOSFODNN7EXAMPLE" not in out
    assert "wJalrXUtnFEMI" not in out
    assert "aws_access_key_id = AKIA***" in out
    assert redact("key ASIAY34FZKBOKMUTVV7A in use") == "key ASIA*** in use"


def test_private_key_block() -> None:
    text = "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\nabc\n-----END RSA PRIVATE KEY-----"
    assert redact(text) == "-----BEGIN RSA PRIVATE KEY-----***-----END RSA PRIVATE KEY-----"


@pytest.mark.parametrize(
    "text",
    [
        "The password policy requires 12 characters and a keyboard layout check.",
        "keyboard: us; monkey=3; key=glancy:deletions; primary_key: id",
        "max_tokens=512 tokens_used: 35 token_count=3",
        "bearer tokens are rotated daily",
        'GET /lookup?word=apple&user=u1 -> 200 {"source": "cache"}',
        "basic definition + template example",
        "commit 3f786850e387550fdab836ed7e6dc881de23001b sha256:"
        "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "http://127.0.0.1:8474/proxies/pg-az-a",
        "2024-05-11 13:00:00+08:00 restore point; time: 12:34",
    ],
)
def test_harmless_text_is_unchanged(text: str) -> None:
    assert redact(text) == text


def test_redact_is_idempotent() -> None:
    text = "postgresql://u:x@h password=y Authorization: Bearer abcdef123456 AKIAIOSFODNN7EXAMPLE"
    once = redact(text)
    assert redact(once) == once


@pytest.mark.parametrize(
    ("key", "secret"),
    [
        ("password", True),
        ("PGPASSWORD", True),
        ("aws_secret_access_key", True),
        ("access_token", True),
        ("apiKey", True),
        ("Authorization", True),
        ("keyboard", False),
        ("key", False),
        ("max_tokens", False),
        ("dsn", False),
        ("password policy", False),
    ],
)
def test_is_secret_key(key: str, secret: bool) -> None:
    assert is_secret_key(key) is secret


def test_redact_obj_masks_secret_keys_and_redacts_strings() -> None:
    obj = {
        "endpoints": {
            "pg": "postgresql://glancy:pw@127.0.0.1:5432/glancy",
            "redis": "redis://:rpw@127.0.0.1:6379",
        },
        "auth": {"password": "p", "api_key": 12345, "token": None, "use_password": True},
        "log": ("PGPASSWORD=q psql", ["Authorization: Bearer abc.def.123"]),
        "count": 3,
        "ratio": 0.99,
    }
    out = redact_obj(obj)
    assert out["endpoints"] == {
        "pg": "postgresql://glancy:***@127.0.0.1:5432/glancy",
        "redis": "redis://:***@127.0.0.1:6379",
    }
    assert out["auth"] == {"password": MASK, "api_key": MASK, "token": None, "use_password": True}
    assert out["log"] == ("PGPASSWORD=*** psql", ["Authorization: Bearer ***"])
    assert out["count"] == 3 and out["ratio"] == 0.99
    assert obj["auth"]["password"] == "p"  # the input is not modified


def test_redact_obj_masks_containers_under_secret_keys() -> None:
    assert redact_obj({"client_secret": {"a": 1}}) == {"client_secret": MASK}
    assert redact_obj({"token": 1}) == {"token": MASK}
