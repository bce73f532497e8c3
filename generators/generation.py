"""An analysis -> every job's Flink SQL, and the files `kappa generate` writes.

The steps, in order: the tables no DDL defines are typed from the queries that write them
(`derived_schemas`), the catalog says how each table is read and written (`flink.catalog_for`),
each job is generated or retired with the reason (`flink.generate`), and the Kafka topics and
CDC connectors around the jobs are planned (`infra`). With `workers` above one, typing and
assembling run on that many processes for large analyses (`workers` module); the result is the
same whatever their number.

    >>> generation = generate_analysis(analysis, GenerateConfig())  # doctest: +SKIP
    >>> files = generation_files(generation, GenerateConfig())  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from multiprocessing.context import BaseContext

from analyzer.contract import analysis_to_dict, iter_json
from analyzer.models import Analysis

from .config import GenerateConfig
from .derived_schemas import with_derived_schemas
from .flink import Catalog, GeneratedJob, catalog_for, generate
from .infra import infra_files, plan_infra
from .schema import FlinkTable
from .workers import assembly_runner, typing_runner

__all__ = ["Generation", "generate_analysis", "generation_files"]


@dataclass(frozen=True)
class Generation:
    analysis: Analysis  # with the derived table definitions in `extra["schemas"]`
    catalog: Catalog
    results: tuple[GeneratedJob, ...]  # in job order


def generate_analysis(
    analysis: Analysis,
    settings: GenerateConfig,
    *,
    sink: str | None = None,
    schema_tables: Mapping[str, FlinkTable] | None = None,
    workers: int = 1,
    context: BaseContext | None = None,
) -> Generation:
    """Every job of `analysis` generated or retired. `schema_tables` are the tables of a schema
    file (`--schema`), which win over the analysis's own; `sink` overrides the configured sink
    connector; `context` starts the typing workers (spawned by default)."""
    with typing_runner(workers, len(analysis.jobs), context) as run:
        analysis = with_derived_schemas(analysis, run)
    catalog = catalog_for(analysis, analysis.extra.get("schemas") or {}, schema_tables or {})
    with assembly_runner(workers, len(analysis.jobs), catalog, settings) as assemble:
        results = generate(analysis, catalog, settings, sink, assemble)
    return Generation(analysis, catalog, results)


def generation_files(generation: Generation, settings: GenerateConfig) -> dict[str, str | Iterable[str]]:
    """Relative path -> content: each generated job, `infra/`, and `analysis.json` with every job's
    outcome (in pieces: at 10,000 DAGs the document as one string, read back and indented by
    json.dumps, took 1.4 GiB more than the generation itself)."""
    results = generation.results
    files: dict[str, str | Iterable[str]] = {r.path: r.sql for r in results if r.path and r.sql}
    outcomes = {r.job_id: {"status": r.status, "path": r.path, "reason": r.reason} for r in results}
    infra = plan_infra(generation.analysis, results, settings)
    files.update(infra_files(infra, settings))
    document = analysis_to_dict(generation.analysis, outcomes)
    document["infra"] = infra.to_dict(settings)
    files["analysis.json"] = iter_json(document)
    return files
