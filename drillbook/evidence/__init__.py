"""Evidence for auditors: redaction, hashes, Allure attachments, timeline charts, the ledger."""

from drillbook.evidence.allure import Evidence
from drillbook.evidence.chain import ChainReport, verify_chain
from drillbook.evidence.chart import timeline_png
from drillbook.evidence.ledger import LedgerEntry, LedgerFiles, next_id, write_entry
from drillbook.evidence.redact import redact, redact_obj
from drillbook.hashing import sha256_file, sha256_hex

__all__ = [
    "ChainReport",
    "Evidence",
    "LedgerEntry",
    "LedgerFiles",
    "next_id",
    "redact",
    "redact_obj",
    "sha256_file",
    "sha256_hex",
    "timeline_png",
    "verify_chain",
    "write_entry",
]
