"""`build_lineage(jobs, dags) -> LineageGraph`: tasks and tables in one networkx graph.

Nodes are `task:<job id>` and `table:<qualified name>`; edges are `read` (table -> task),
`write` (task -> table) and `depends` (task -> task, Airflow dependencies). The questions the rules
and the report ask of it (who produces a table, which tables have several writers, which jobs
rewrite their own input, what is upstream or downstream of a job, in which waves to migrate) are
answered with networkx algorithms, not hand-written walks.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import networkx as nx

from .models import Dag, Job

READ, WRITE, MAINTAIN, DEPENDS = "read", "write", "maintain", "depends"


def task_node(job_id: str) -> str:
    return f"task:{job_id}"


def table_node(table: str) -> str:
    return f"table:{table}"


@dataclass(frozen=True)
class LineageGraph:
    graph: Any  # nx.DiGraph; Any because networkx ships no type information

    def producers(self, table: str) -> tuple[str, ...]:
        """Job ids that write `table`."""
        node = table_node(table)
        if node not in self.graph:
            return ()
        writers = (p for p in self.graph.predecessors(node) if self.graph.edges[p, node]["kind"] == WRITE)
        return tuple(sorted(self.graph.nodes[p]["job"] for p in writers))

    def consumers(self, table: str) -> tuple[str, ...]:
        node = table_node(table)
        if node not in self.graph:
            return ()
        return tuple(sorted(self.graph.nodes[c]["job"] for c in self.graph.successors(node)))

    def reads_of(self, job_id: str) -> tuple[str, ...]:
        """Tables a job reads."""
        node = task_node(job_id)
        if node not in self.graph:
            return ()
        return tuple(
            sorted(
                self.graph.nodes[p]["table"]
                for p in self.graph.predecessors(node)
                if self.graph.edges[p, node]["kind"] == READ
            )
        )

    def multi_writer_tables(self) -> dict[str, tuple[str, ...]]:
        """Tables written by more than one job: candidates for dual writes and corrections."""
        tables = (n for n, data in self.graph.nodes(data=True) if data["kind"] == "table")
        found = {self.graph.nodes[n]["table"]: self.producers(self.graph.nodes[n]["table"]) for n in tables}
        return {table: jobs for table, jobs in sorted(found.items()) if len(jobs) > 1}

    def self_rewrites(self) -> tuple[str, ...]:
        """Jobs that write a table they also read (dedup, compaction, in-place corrections)."""
        found = []
        for node, data in self.graph.nodes(data=True):
            if data["kind"] != "task":
                continue
            reads = {p for p in self.graph.predecessors(node) if self.graph.edges[p, node]["kind"] == READ}
            writes = {s for s in self.graph.successors(node) if self.graph.edges[node, s]["kind"] == WRITE}
            if reads & writes:
                found.append(data["job"])
        return tuple(sorted(found))

    def _job_graph(self) -> Any:
        """Job -> job: `a` before `b` when `b` reads what `a` writes, or Airflow runs `a` first."""
        jobs = nx.DiGraph()
        for _, data in self.graph.nodes(data=True):
            if data["kind"] == "task":
                jobs.add_node(data["job"])
        for source, target, data in self.graph.edges(data=True):
            if data["kind"] == DEPENDS:
                jobs.add_edge(self.graph.nodes[source]["job"], self.graph.nodes[target]["job"])
            elif data["kind"] == WRITE:
                writer = self.graph.nodes[source]["job"]
                for reader in self.graph.successors(target):
                    if reader != source:
                        jobs.add_edge(writer, self.graph.nodes[reader]["job"])
        return jobs

    def upstream(self, job_id: str) -> tuple[str, ...]:
        jobs = self._job_graph()
        return tuple(sorted(nx.ancestors(jobs, job_id))) if job_id in jobs else ()

    def downstream(self, job_id: str) -> tuple[str, ...]:
        jobs = self._job_graph()
        return tuple(sorted(nx.descendants(jobs, job_id))) if job_id in jobs else ()

    def waves(self) -> tuple[tuple[str, ...], ...]:
        """Migration waves: topological generations of the job graph, cycles kept together."""
        jobs = self._job_graph()
        condensed = nx.condensation(jobs)
        waves = []
        for generation in nx.topological_generations(condensed):
            members = sorted(job for component in generation for job in condensed.nodes[component]["members"])
            waves.append(tuple(members))
        return tuple(waves)

    def to_dict(self, annotations: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, Any]:
        """The `graph` section of analysis.json: sorted, so the file stays deterministic.

        `annotations` adds attributes to task nodes by job id (pattern, class), once they are known.
        """
        notes = annotations or {}
        nodes = [
            {"id": node, **dict(sorted({**data, **notes.get(data.get("job", ""), {})}.items()))}
            for node, data in sorted(self.graph.nodes(data=True))
        ]
        edges = [
            {"source": source, "target": target, "kind": data["kind"]}
            for source, target, data in sorted(self.graph.edges(data=True), key=lambda e: (e[0], e[1]))
        ]
        return {
            "nodes": nodes,
            "edges": edges,
            "multi_writer_tables": {table: list(jobs) for table, jobs in self.multi_writer_tables().items()},
            "self_rewrites": list(self.self_rewrites()),
            "waves": [list(wave) for wave in self.waves()],
        }


def build_lineage(jobs: Iterable[Job], dags: Iterable[Dag]) -> LineageGraph:
    """The graph of every job's reads and writes, plus the DAGs' task dependencies."""
    graph = nx.DiGraph()
    by_dag_task: dict[tuple[str, str], str] = {}
    for job in jobs:
        node = task_node(job.id)
        graph.add_node(node, kind="task", job=job.id, dag_id=job.dag_id)
        by_dag_task[(job.dag_id, job.task_id)] = node
        for table in job.reads:
            graph.add_node(table_node(table), kind="table", table=table)
            graph.add_edge(table_node(table), node, kind=READ)
        for table in job.writes:
            graph.add_node(table_node(table), kind="table", table=table)
            graph.add_edge(node, table_node(table), kind=WRITE)
        for table in job.maintains:
            graph.add_node(table_node(table), kind="table", table=table)
            if not graph.has_edge(node, table_node(table)):
                graph.add_edge(node, table_node(table), kind=MAINTAIN)
    for dag in dags:
        reachable = _job_reachability(dag, by_dag_task)
        for upstream, downstream in reachable:
            graph.add_edge(by_dag_task[(dag.dag_id, upstream)], by_dag_task[(dag.dag_id, downstream)], kind=DEPENDS)
    return LineageGraph(graph)


def _job_reachability(dag: Dag, jobs: Mapping[tuple[str, str], str]) -> list[tuple[str, str]]:
    """Dependencies between a DAG's jobs, seen through control tasks (start >> empty >> load)."""
    tasks = nx.DiGraph()
    tasks.add_nodes_from(task.task_id for task in dag.tasks)
    tasks.add_edges_from(dag.edges)
    pairs = []
    for task in dag.tasks:
        if (dag.dag_id, task.task_id) not in jobs:
            continue
        for successor in _next_jobs(tasks, task.task_id, dag.dag_id, jobs):
            pairs.append((task.task_id, successor))
    return sorted(pairs)


def _next_jobs(tasks: Any, start: str, dag_id: str, jobs: Mapping[tuple[str, str], str]) -> set[str]:
    found: set[str] = set()
    frontier = list(tasks.successors(start))
    seen: set[str] = set()
    while frontier:
        current = frontier.pop()
        if current in seen:
            continue
        seen.add(current)
        if (dag_id, current) in jobs:
            found.add(current)
        else:
            frontier.extend(tasks.successors(current))
    return found
