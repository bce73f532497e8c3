"""The rule registry: every rule, in the order `kappa rules` lists them. No import-time magic."""

from __future__ import annotations

from .base import JobFacts, Rule
from .c401_group_aggregate import C401GroupAggregate
from .c402_stream_join import C402StreamJoin
from .c403_lookup_join import C403LookupJoin
from .c404_window_function import C404WindowFunction
from .c405_deduplication import C405Deduplication
from .c406_distinct import C406Distinct
from .c407_set_operation import C407SetOperation
from .c408_top_n import C408TopN
from .c409_outer_join import C409OuterJoin
from .c410_merge_upsert import C410MergeUpsert
from .c411_update_delete import C411UpdateDelete
from .c412_partition_overwrite import C412PartitionOverwrite
from .c413_stateless_projection import C413StatelessProjection
from .c414_lookback_updates import C414LookbackUpdates
from .c415_unnest import C415Unnest
from .c416_full_rewrite import C416FullRewrite
from .c417_correlated_subquery import C417CorrelatedSubquery
from .c420_unbounded_state import C420UnboundedState
from .c421_state_ttl import C421StateTtl
from .c430_dbt_unique_key import C430DbtUniqueKey
from .c431_dbt_snapshot import C431DbtSnapshot
from .evidence import Evidence, EvidenceRule
from .f101_lookback_rerun import F101LookbackRerun
from .f102_update_in_place import F102UpdateInPlace
from .f103_dedup_overwrite import F103DedupOverwrite
from .f104_merge_correction import F104MergeCorrection
from .f105_late_partition_overwrite import F105LatePartitionOverwrite
from .f106_dual_write import F106DualWrite
from .f107_repeated_rerun import F107RepeatedRerun
from .f110_incremental_lookback import F110IncrementalLookback
from .o201_table_compaction import O201TableCompaction
from .o202_vacuum import O202Vacuum
from .o203_zorder_clustering import O203ZorderClustering
from .o204_manifest_rewrite import O204ManifestRewrite
from .o205_self_overwrite_compaction import O205SelfOverwriteCompaction
from .o206_statistics_refresh import O206StatisticsRefresh
from .o207_partition_repair import O207PartitionRepair
from .o208_retention_delete import O208RetentionDelete
from .r301_full_refresh import R301FullRefresh
from .r302_catchup_backfill import R302CatchupBackfill
from .r303_manual_backfill_dag import R303ManualBackfillDag
from .r304_backfill_command import R304BackfillCommand
from .r305_backfill_runs import R305BackfillRuns
from .r310_dbt_full_refresh import R310DbtFullRefresh

PATTERN_RULES: tuple[Rule, ...] = (
    F101LookbackRerun(),
    F102UpdateInPlace(),
    F103DedupOverwrite(),
    F104MergeCorrection(),
    F105LatePartitionOverwrite(),
    F106DualWrite(),
    F107RepeatedRerun(),
    F110IncrementalLookback(),
    O201TableCompaction(),
    O202Vacuum(),
    O203ZorderClustering(),
    O204ManifestRewrite(),
    O205SelfOverwriteCompaction(),
    O206StatisticsRefresh(),
    O207PartitionRepair(),
    O208RetentionDelete(),
    R301FullRefresh(),
    R302CatchupBackfill(),
    R303ManualBackfillDag(),
    R304BackfillCommand(),
    R305BackfillRuns(),
    R310DbtFullRefresh(),
)

EVIDENCE_RULES: tuple[EvidenceRule, ...] = (
    C401GroupAggregate(),
    C402StreamJoin(),
    C403LookupJoin(),
    C404WindowFunction(),
    C405Deduplication(),
    C406Distinct(),
    C407SetOperation(),
    C408TopN(),
    C409OuterJoin(),
    C410MergeUpsert(),
    C411UpdateDelete(),
    C412PartitionOverwrite(),
    C413StatelessProjection(),
    C414LookbackUpdates(),
    C415Unnest(),
    C416FullRewrite(),
    C417CorrelatedSubquery(),
    C420UnboundedState(),
    C421StateTtl(),
    C430DbtUniqueKey(),
    C431DbtSnapshot(),
)

RULES: tuple[Rule, ...] = (*PATTERN_RULES, *EVIDENCE_RULES)
RULES_BY_CODE: dict[str, Rule] = {rule.code: rule for rule in RULES}

__all__ = [
    "EVIDENCE_RULES",
    "PATTERN_RULES",
    "RULES",
    "RULES_BY_CODE",
    "Evidence",
    "EvidenceRule",
    "JobFacts",
    "Rule",
]
