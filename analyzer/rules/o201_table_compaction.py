from __future__ import annotations

from .optimize import MaintenanceRule


class O201TableCompaction(MaintenanceRule):
    """Job compacts small files of a table (OPTIMIZE, rewrite_data_files, CONCATENATE).

    **Anti-pattern**: a nightly `OPTIMIZE t`, `CALL cat.system.rewrite_data_files('db.t')` or
    `ALTER TABLE t PARTITION (...) CONCATENATE`, because frequent batch writes left small files.
    **Streaming equivalent**: the sink compacts as it writes: Paimon/Iceberg table compaction
    options, or the filesystem sink's `auto-compaction`; the batch job retires.
    """

    code, name = "O201", "table-compaction"
    kinds = frozenset({"optimize", "concatenate"})
    procedures = frozenset(
        {"rewrite_data_files", "rewrite_position_delete_files", "compact", "optimize", "run_compaction"}
    )
    what = "compacts"
