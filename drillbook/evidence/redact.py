"""Mask secrets in text and data before anything reaches a report or the ledger.

The rules err on the side of masking too much: a masked host name costs an auditor a look at
the profile, a leaked password costs a rotation.
"""

from __future__ import annotations

import re
from typing import Any

MASK = "***"

# A key whose value is a secret: *password*, *passwd*, *secret*, *token (not "tokens" or
# "token_count"), qualified keys like api_key / accessKey (not "keyboard" or a bare Redis
# "key"), and authorization headers.
_SECRET_KEY = (
    r"[\w.\-]*(?:password|passwd|secret)[\w.\-]*"
    r"|[\w.\-]*token"
    r"|[\w.\-]*(?:api|access|secret|private|signing|master|encryption|client|auth|session)"
    r"[-_.]?key"
    r"|requirepass|masterauth"
)
# In text, authorization headers have their own rule that keeps the scheme.
_SECRET_KEY_RE = re.compile(rf"(?:{_SECRET_KEY}|(?:proxy-)?authorization)", re.IGNORECASE)

# scheme://user:PASSWORD@host — greedy up to the last "@" of the token, so an unencoded "@",
# "/" or ":" in the password is still masked whole.
_URL_PASSWORD = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://[^\s:/@'\"]*:)[^\s'\"]*@")

_PEM_PRIVATE_KEY = re.compile(
    r"-----BEGIN ([A-Z ]*)PRIVATE KEY-----.*?-----END \1PRIVATE KEY-----", re.DOTALL
)

# Authorization: Bearer X / Basic X / X — the scheme is kept, the credential masked.
_AUTH_HEADER = re.compile(
    r"(?i)\b((?:proxy-)?authorization[\"']?[ \t]*[:=][ \t]*[\"']?)"
    r"((?:bearer|basic|token|digest|negotiate)[ \t]+)?[^\s\"',;]+"
)

# An unquoted value ends at whitespace, a quote or "&", or at ",;})]" that closes a JSON/kv
# structure; a "," or ";" inside a password stays part of it and is masked too.
_VALUE = (
    r"\"(?:[^\"\\]|\\.)*\""
    r"|'[^']*'"
    r"|(?![{\[])[^\s\"'&]+?(?=[\s\"'&]|[,;})\]](?:[\s\"'{}\[\]]|$)|$)"
)
_KEY_VALUE = re.compile(
    rf"(?i)(?<![\w.\-])([\"']?(?:{_SECRET_KEY})[\"']?[ \t]*(?:=|:)[ \t]*)({_VALUE})"
)
_CLI_FLAG = re.compile(
    r"(?i)(--[\w-]*(?:password|passwd|secret|token|requirepass|masterauth)[\w-]*[ \t]+)(?!-)\S+"
)
# Redis configuration directives: "requirepass SECRET", "masterauth SECRET".
_REDIS_DIRECTIVE = re.compile(r"(?im)^([ \t]*(?:requirepass|masterauth)[ \t]+)\S+")

_AWS_ACCESS_KEY_ID = re.compile(r"\b(AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}\b")

# A bare bearer credential outside a header; it must look like a token (8+ characters with a
# digit or punctuation) so prose such as "bearer tokens" stays readable.
_BARE_BEARER = re.compile(r"(?i)\b(bearer[ \t]+)(?=[A-Za-z]*[0-9._~+/\-])[A-Za-z0-9._~+/\-]{8,}=*")


def _mask_value(match: re.Match[str]) -> str:
    key, value = match.group(1), match.group(2)
    quote = value[0] if value[0] in "\"'" else ""
    if not quote and key.startswith('"'):
        quote = '"'  # a JSON number or literal becomes a string, so the document still parses
    return f"{key}{quote}{MASK}{quote}"


def redact(text: str) -> str:
    """Return text with DSN passwords, keys, tokens and private keys masked as ``***``."""
    text = _URL_PASSWORD.sub(rf"\1{MASK}@", text)
    text = _PEM_PRIVATE_KEY.sub(
        rf"-----BEGIN \1PRIVATE KEY-----{MASK}-----END \1PRIVATE KEY-----", text
    )
    text = _AUTH_HEADER.sub(lambda m: f"{m.group(1)}{m.group(2) or ''}{MASK}", text)
    text = _KEY_VALUE.sub(_mask_value, text)
    text = _CLI_FLAG.sub(rf"\1{MASK}", text)
    text = _REDIS_DIRECTIVE.sub(rf"\1{MASK}", text)
    text = _AWS_ACCESS_KEY_ID.sub(rf"\1{MASK}", text)
    return _BARE_BEARER.sub(rf"\1{MASK}", text)


def is_secret_key(key: str) -> bool:
    """True when a mapping key names a secret (``password``, ``api_key``, ``SessionToken``...)."""
    return _SECRET_KEY_RE.fullmatch(key) is not None


def redact_obj(obj: Any) -> Any:
    """A copy of a JSON-like structure with secret-named values masked and strings redacted.

    None, booleans and empty strings under a secret key are kept: they reveal nothing and
    "no password set" is worth seeing.
    """
    if isinstance(obj, dict):
        return {k: _redact_item(k, v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return type(obj)(redact_obj(v) for v in obj)
    if isinstance(obj, str):
        return redact(obj)
    return obj


def _redact_item(key: Any, value: Any) -> Any:
    revealing = not (value is None or value == "" or isinstance(value, bool))
    if isinstance(key, str) and is_secret_key(key) and revealing:
        return MASK
    return redact_obj(value)
