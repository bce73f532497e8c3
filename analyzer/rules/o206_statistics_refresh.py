from __future__ import annotations

from .optimize import MaintenanceRule


class O206StatisticsRefresh(MaintenanceRule):
    """Job recomputes table statistics (ANALYZE ... COMPUTE STATISTICS).

    **Anti-pattern**: `ANALYZE TABLE t COMPUTE STATISTICS` after every batch load so the next
    batch query plans well.
    **Streaming equivalent**: nothing to schedule: the streaming job's plan does not depend on
    table statistics, and lake tables written by the stream keep their own metadata.
    """

    code, name = "O206", "statistics-refresh"
    kinds = frozenset({"analyze"})
    what = "recomputes statistics of"
