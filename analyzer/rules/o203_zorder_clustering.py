from __future__ import annotations

import re

from ..models import Statement
from ..sql import StatementAnalysis
from .optimize import MaintenanceRule

# Iceberg `rewrite_data_files(..., strategy => 'sort', sort_order => 'zorder(a, b)')` sorts while it
# compacts; its arguments are only in the SQL
SORT_STRATEGY = re.compile(r"\b(strategy\s*=>\s*'sort'|sort_order\s*=>)", re.IGNORECASE)


class O203ZorderClustering(MaintenanceRule):
    """Job re-clusters a table's files by columns (OPTIMIZE ... ZORDER BY, rewrite with sort order).

    **Anti-pattern**: `OPTIMIZE t ZORDER BY (customer_id)` after each batch load, to speed up reads;
    Iceberg `rewrite_data_files` with `strategy => 'sort'`; Hudi `run_clustering`.
    **Streaming equivalent**: the sink's clustering / sort options (Paimon `sort-compaction`,
    Iceberg write order) applied while writing; the scheduled job retires.
    """

    code, name = "O203", "zorder-clustering"
    kinds = frozenset({"zorder"})
    procedures = frozenset({"rewrite_data_files_sorted", "zorder", "run_clustering"})
    what = "re-clusters"

    def matches(self, statement: Statement, analysis: StatementAnalysis) -> bool:
        sorted_rewrite = (analysis.procedure or "").lower() == "rewrite_data_files" and bool(
            SORT_STRATEGY.search(statement.sql)
        )
        return sorted_rewrite or super().matches(statement, analysis)
