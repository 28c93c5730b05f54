"""Export artifacts: what a task renders, where it is stored, and the S3 client that stores it.

An artifact is a pure function of its task: the user's lookups up to the moment the task was
created, as JSON Lines. A replayed task therefore renders the same bytes, and its SHA-256 tells
whether the stored object already is its artifact.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

import boto3
from botocore.client import BaseClient
from botocore.config import Config
from botocore.exceptions import ClientError

from reference.config import ExportsConfig

CONTENT_TYPE = "application/x-ndjson"


@dataclass(frozen=True)
class Artifact:
    key: str
    body: bytes
    sha256: str


@dataclass(frozen=True)
class Stored:
    version_id: str | None
    reused: bool  # the object was already there with the same content: nothing was written


def s3_client(config: ExportsConfig) -> BaseClient:
    """Every call bounded: one attempt, connect and read timeouts (boto3 retries 4 times by
    default, which would turn an unreachable store into seconds per task)."""
    return boto3.client(
        "s3",
        endpoint_url=config.endpoint_url,
        region_name=config.region,
        aws_access_key_id=config.access_key,
        aws_secret_access_key=config.secret_key,
        config=Config(
            connect_timeout=config.timeout_s,
            read_timeout=config.timeout_s,
            retries={"max_attempts": 1, "mode": "standard"},
            s3={"addressing_style": "path"},
        ),
    )


def object_key(user: str, task_id: str) -> str:
    return f"exports/{user}/{task_id}.jsonl"


def render(task_id: str, user: str, created_at: datetime, lookups: list[tuple]) -> Artifact:
    """The history export: a header line, then one line per (word, looked_up_at), oldest first."""
    header = {"task": task_id, "user": user, "created_at": created_at.isoformat()}
    lines = [json.dumps(header, sort_keys=True)]
    lines += [json.dumps({"word": word, "at": at.isoformat()}) for word, at in lookups]
    body = ("\n".join(lines) + "\n").encode()
    return Artifact(object_key(user, task_id), body, hashlib.sha256(body).hexdigest())


def store(client: BaseClient, bucket: str, artifact: Artifact) -> Stored:
    """Put the artifact unless the bucket already holds it with the same SHA-256 (a replay of a
    task whose worker died after the upload): a task's artifact is written once."""
    try:
        head = client.head_object(Bucket=bucket, Key=artifact.key)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchKey", "NotFound"):
            raise
    else:
        if head.get("Metadata", {}).get("sha256") == artifact.sha256:
            return Stored(head.get("VersionId"), reused=True)
    put = client.put_object(
        Bucket=bucket,
        Key=artifact.key,
        Body=artifact.body,
        ContentType=CONTENT_TYPE,
        Metadata={"sha256": artifact.sha256},
        # the store checks the upload against it and refuses a corrupted one
        ChecksumSHA256=base64.b64encode(bytes.fromhex(artifact.sha256)).decode(),
    )
    return Stored(put.get("VersionId"), reused=False)


def download_link(
    client: BaseClient, bucket: str, key: str, version_id: str | None, ttl_s: int
) -> str:
    """A presigned GET of that version; computed locally, no call to the store."""
    params = {"Bucket": bucket, "Key": key}
    if version_id:
        params["VersionId"] = version_id
    return client.generate_presigned_url("get_object", Params=params, ExpiresIn=ttl_s)
