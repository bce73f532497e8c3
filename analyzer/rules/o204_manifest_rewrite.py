from __future__ import annotations

from .optimize import MaintenanceRule


class O204ManifestRewrite(MaintenanceRule):
    """Job rewrites an Iceberg table's manifests.

    **Anti-pattern**: `CALL cat.system.rewrite_manifests('db.t')` (Trino: `ALTER TABLE t EXECUTE
    optimize_manifests`) on a schedule, because many small batch commits left many manifests.
    **Streaming equivalent**: commit once per checkpoint and let the table's maintenance options
    handle manifests; the batch job retires.
    """

    code, name = "O204", "manifest-rewrite"
    procedures = frozenset({"rewrite_manifests", "optimize_manifests"})
    what = "rewrites the manifests of"
