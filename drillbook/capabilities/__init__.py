"""What a drill can do to an environment, named in the plan's vocabulary.

Steps never see how an environment is built: they ask for capabilities by name (a step's
parameter `database` is the database capability), and each environment provides some of them.
The embedded stack provides all; a live or container environment provides what its profile
binds. A step whose capability the selected environment lacks is refused before the scenario
injects anything (drillbook.bdd).

A capability does not act on its own behalf: each fault or remediation it offers is returned as
an `Operation`, which the drill carries out, records in its history and journals with its revert
(drillbook.drill). That keeps every environment's faults as easy to list, scope and reset as a
Toxiproxy toxic, and keeps the journal in one place.
"""

from drillbook.capabilities.cache import Cache
from drillbook.capabilities.cloud import Cloud
from drillbook.capabilities.database import Database, DatabaseInstance
from drillbook.capabilities.exports import ExportQueue
from drillbook.capabilities.monitoring import Monitoring
from drillbook.capabilities.network import Network
from drillbook.capabilities.operation import FAULT, REMEDIATION, Operation
from drillbook.capabilities.platform import Platform
from drillbook.capabilities.service import Service
from drillbook.capabilities.storage import ObjectStorage

# A step's parameter of one of these names is that capability of the selected environment.
CAPABILITIES: dict[str, type] = {
    "service": Service,
    "database": Database,
    "cache": Cache,
    "storage": ObjectStorage,
    "network": Network,
    "exports": ExportQueue,
    "platform": Platform,
    "cloud": Cloud,
    "monitoring": Monitoring,
}

__all__ = [
    "CAPABILITIES",
    "FAULT",
    "REMEDIATION",
    "Cache",
    "Cloud",
    "Database",
    "DatabaseInstance",
    "ExportQueue",
    "Monitoring",
    "Network",
    "ObjectStorage",
    "Operation",
    "Platform",
    "Service",
]
