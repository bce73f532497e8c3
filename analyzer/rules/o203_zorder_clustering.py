from __future__ import annotations

from .optimize import MaintenanceRule


class O203ZorderClustering(MaintenanceRule):
    """Job re-clusters a table's files by columns (OPTIMIZE ... ZORDER BY, rewrite with sort order).

    **Anti-pattern**: `OPTIMIZE t ZORDER BY (customer_id)` after each batch load, to speed up reads.
    **Streaming equivalent**: the sink's clustering / sort options (Paimon `sort-compaction`,
    Iceberg write order) applied while writing; the scheduled job retires.
    """

    code, name = "O203", "zorder-clustering"
    kinds = frozenset({"zorder"})
    procedures = frozenset({"rewrite_data_files_sorted", "zorder"})
    what = "re-clusters"
