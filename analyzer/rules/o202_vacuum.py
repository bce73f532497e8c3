from __future__ import annotations

from .optimize import MaintenanceRule


class O202Vacuum(MaintenanceRule):
    """Job removes old table files or snapshots (VACUUM, expire_snapshots, remove_orphan_files).

    **Anti-pattern**: `VACUUM t RETAIN 168 HOURS` or `CALL cat.system.expire_snapshots(...)`
    scheduled to clean up after batch rewrites.
    **Streaming equivalent**: snapshot expiry and orphan cleanup become table options of the
    streaming sink (Paimon `snapshot.time-retained`, Iceberg maintenance) and the job retires.
    """

    code, name = "O202", "vacuum"
    kinds = frozenset({"vacuum"})
    procedures = frozenset({"expire_snapshots", "remove_orphan_files", "expire_snapshots_older_than", "run_clean"})
    what = "removes old files of"
