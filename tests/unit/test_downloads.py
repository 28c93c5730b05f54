"""A user's downloads of an artifact (drillbook.workload.downloads): a served version is "ok"
with its hash, a deleted key or a store that does not answer is "fail" naming why."""

from __future__ import annotations

import hashlib
import io
from types import SimpleNamespace

from botocore.exceptions import ClientError, ConnectTimeoutError

from drillbook.workload import History
from drillbook.workload.downloads import ArtifactDownloads, download_process

BODY = b"export artifact"


class Store:
    """What the workload uses of an S3 client; each call answers the next of `answers`. Its
    requests carry no trace (no event is ever emitted)."""

    meta = SimpleNamespace(events=SimpleNamespace(register=lambda *_args, **_kw: None))

    def __init__(self, *answers: object) -> None:
        self.answers = list(answers)
        self.closed = False

    def get_object(self, Bucket: str, Key: str) -> dict:  # noqa: N803 - boto3's names
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return {"Body": io.BytesIO(answer), "VersionId": "v1"}

    def close(self) -> None:
        self.closed = True


def test_each_download_is_recorded_served_or_failed_with_the_reason():
    missing = ClientError({"Error": {"Code": "NoSuchKey", "Message": "gone"}}, "GetObject")
    unanswered = ConnectTimeoutError(endpoint_url="http://127.0.0.1:9000")
    store = Store(BODY, missing, unanswered)
    history = History()
    downloads = ArtifactDownloads(history, lambda: store, "glancy-exports", "a.json", 1.0)
    for _ in range(3):
        downloads._tick()
    downloads._close()
    ops = history.ops(process=download_process("glancy-exports", "a.json"))
    assert [op.outcome for op in ops] == ["ok", "fail", "fail"]
    assert ops[0].value == {"version_id": "v1", "sha256": hashlib.sha256(BODY).hexdigest()}
    assert "NoSuchKey" in ops[1].error and "ConnectTimeoutError" in ops[2].error
    assert store.closed
