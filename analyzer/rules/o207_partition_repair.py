from __future__ import annotations

import re

from .optimize import MaintenanceRule


class O207PartitionRepair(MaintenanceRule):
    """Job registers partitions that files landed in (MSCK REPAIR TABLE, RECOVER PARTITIONS).

    **Anti-pattern**: `MSCK REPAIR TABLE raw.events`, `ALTER TABLE raw.events RECOVER PARTITIONS`,
    `ALTER TABLE raw.events ADD PARTITION (dt='{{ ds }}') LOCATION ...` or Trino's
    `sync_partition_metadata` before each run, because an upstream batch wrote partition folders
    the metastore does not know yet.
    **Streaming equivalent**: the streaming sink commits partitions itself
    (`sink.partition-commit.policy.kind = 'metastore,success-file'`); the repair retires.
    """

    code, name = "O207", "partition-repair"
    kinds = frozenset({"msck_repair", "recover_partitions"})
    procedures = frozenset({"sync_partition_metadata"})
    phrases = (
        re.compile(r"\bRECOVER\s+PARTITIONS\b", re.IGNORECASE),
        re.compile(r"\bADD\s+(IF\s+NOT\s+EXISTS\s+)?PARTITION\b", re.IGNORECASE),
    )
    what = "registers partitions of"
