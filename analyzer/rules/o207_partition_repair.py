from __future__ import annotations

from .optimize import MaintenanceRule


class O207PartitionRepair(MaintenanceRule):
    """Job registers partitions that files landed in (MSCK REPAIR TABLE, RECOVER PARTITIONS).

    **Anti-pattern**: `MSCK REPAIR TABLE raw.events` before each run, because an upstream batch
    wrote partition folders the metastore does not know yet.
    **Streaming equivalent**: the streaming sink commits partitions itself
    (`sink.partition-commit.policy.kind = 'metastore,success-file'`); the repair retires.
    """

    code, name = "O207", "partition-repair"
    kinds = frozenset({"msck_repair", "recover_partitions"})
    what = "registers partitions of"
