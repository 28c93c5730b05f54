"""Clients that exercise the system during a drill and record what they saw."""

from drillbook.workload.history import History, Op
from drillbook.workload.lag import LagSampler
from drillbook.workload.probes import HttpProbe, RedisProbe, SqlProbe, answer_flag, answer_flags
from drillbook.workload.redis_stats import RedisStatsSampler
from drillbook.workload.redis_writer import RedisWriter
from drillbook.workload.workload import Workload
from drillbook.workload.writer import Writer, surviving_ids

__all__ = [
    "History",
    "HttpProbe",
    "LagSampler",
    "Op",
    "RedisProbe",
    "RedisStatsSampler",
    "RedisWriter",
    "SqlProbe",
    "Workload",
    "Writer",
    "answer_flag",
    "answer_flags",
    "surviving_ids",
]
