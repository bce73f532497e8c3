"""`kappa generate` and `kappa report` on every core: typing the tables no DDL defines, and
assembling the jobs, in worker processes (each half of a generation's time, on one core before;
at 10,000 DAGs, twenty minutes), and writing a large report's DAG pages (highlighting their SQL).
Small repositories stay in one process: starting workers would cost more.

- **Typing** (`typing_runner`): workers started like the scan's (the context the caller passes:
  forkserver), so they run the compiled sqlglot when it is installed; each gets a job and the
  definitions of the tables it reads and writes (`derived_schemas.typed_tables`).
- **Assembling** (`assembly_runner`): kappa's Flink dialect subclasses sqlglot's classes, which the
  compiled build refuses to instantiate, so these workers start fresh (spawn) and choose sqlglot's
  Python sources before anything imports it (`start_assembly_worker`), then receive the catalog
  and the settings once.
- **Report pages** (`pages_writer`): workers started like the scan's (they only tokenize), each
  given the pages' shared part once (`report.PageSite`), then pages to render and write.

Nothing here imports sqlglot at the module's top: a spawned worker imports this module first.
"""

from __future__ import annotations

import multiprocessing
import pickle
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from multiprocessing.context import BaseContext
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path

    from analyzer.schemas import TableDef

    from .config import GenerateConfig
    from .derived_schemas import Runner, Work
    from .flink import Assembly, AssemblyRunner, Catalog, GeneratedJob
    from .report import DagPage, PageSite, PagesWriter

__all__ = [
    "PARALLEL_JOBS",
    "PARALLEL_PAGES",
    "assemble_in_worker",
    "assembly_runner",
    "pages_writer",
    "start_assembly_worker",
    "start_page_worker",
    "typing_runner",
    "write_page_in_worker",
]

PARALLEL_JOBS = 200  # fewer jobs than this are generated in one process
PARALLEL_PAGES = 100  # fewer DAG pages than this are written in one process
CHUNKS_PER_WORKER = 4  # work handed out in this many pieces per worker: even ends, few round trips

_shared: dict[str, Any] = {}


@contextmanager
def typing_runner(workers: int, jobs: int, context: BaseContext | None = None) -> Iterator[Runner | None]:
    """A `derived_schemas.Runner` on `workers` processes started by `context` (spawned by
    default), or None (type in this process)."""
    if workers < 2 or jobs < PARALLEL_JOBS:
        yield None
        return
    from .derived_schemas import typed_tables  # noqa: PLC0415 - this module imports no sqlglot

    with ProcessPoolExecutor(workers, mp_context=context or multiprocessing.get_context("spawn")) as pool:

        def run(work: Sequence[Work]) -> Iterable[list[TableDef]]:
            return pool.map(typed_tables, work, chunksize=_chunk(len(work), workers))

        yield run


@contextmanager
def assembly_runner(
    workers: int, jobs: int, catalog: Catalog, config: GenerateConfig
) -> Iterator[AssemblyRunner | None]:
    """A `flink.AssemblyRunner` on `workers` fresh processes, or None (assemble in this process)."""
    if workers < 2 or jobs < PARALLEL_JOBS:
        yield None
        return
    payload = pickle.dumps((catalog, config))
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        workers, mp_context=context, initializer=start_assembly_worker, initargs=(payload,)
    ) as pool:

        def run(work: Sequence[Assembly]) -> Iterable[GeneratedJob]:
            return pool.map(assemble_in_worker, work, chunksize=_chunk(len(work), workers))

        yield run


def pages_writer(workers: int, context: BaseContext) -> PagesWriter:
    """A `report.PagesWriter` on `workers` processes (in this process for few pages)."""
    from .report import write_pages_here  # noqa: PLC0415 - this module imports no sqlglot

    def write(site: PageSite, out: Path, pages: Iterable[DagPage]) -> Iterable[str]:
        if workers < 2:
            return write_pages_here(site, out, pages)  # a page at a time
        listed = list(pages)
        if len(listed) < PARALLEL_PAGES:
            return write_pages_here(site, out, listed)
        payload = pickle.dumps((site, out))
        with ProcessPoolExecutor(
            workers, mp_context=context, initializer=start_page_worker, initargs=(payload,)
        ) as pool:
            return list(pool.map(write_page_in_worker, listed, chunksize=_chunk(len(listed), workers)))

    return write


def start_page_worker(payload: bytes) -> None:
    _shared["site"], _shared["out"] = pickle.loads(payload)


def write_page_in_worker(page: DagPage) -> str:
    from .report import write_dag_page  # noqa: PLC0415

    return write_dag_page(_shared["site"], _shared["out"], page)


def _chunk(items: int, workers: int) -> int:
    return max(1, items // (workers * CHUNKS_PER_WORKER))


def start_assembly_worker(payload: bytes) -> None:
    """An assembling worker's initializer: sqlglot's sources, then the pickled (catalog, settings)."""
    from analyzer.sqlglot_build import prefer_sqlglot_sources  # noqa: PLC0415 - before sqlglot loads

    prefer_sqlglot_sources()
    _shared["catalog"], _shared["config"] = pickle.loads(payload)


def assemble_in_worker(item: Assembly) -> GeneratedJob:
    from .flink import assemble  # noqa: PLC0415 - imported after start_assembly_worker chose the sources

    job, decision, folded, chosen = item
    return assemble(job, decision, _shared["catalog"], _shared["config"], folded, chosen)
