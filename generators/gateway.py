"""`flink_gateway()` starts pyflink's JVM with kappa's options; `thread_gateway()` is a py4j
gateway into it whose calls from this thread all run on one Java thread.

The JVM plans jobs one after another, each with classes of its own (Flink generates the operators'
code and compiles some of it with Janino). With Java's defaults its optimizing compiler (C2) kept
recompiling on one core for as long as planning went on, and the collector took its share of the
other: one planner thread used 1.8 cores. `JVM_OPTIONS` keep the quick compiler only (C1) and the
serial collector: one planner uses 0.9 cores, so two planner threads fit on two cores (on the
sample jobs, 20 jobs/s over 800 jobs against 15 with the defaults; running jobs for `kappa
verify` took the same time either way). A `JVM_ARGS` environment variable (pyflink's) replaces
them.

pyflink's gateway client lends its socket connections to whichever Python thread calls next, and
the JVM serves each connection on its own thread, so a Python thread's calls may run on any Java
thread. The Flink planner cannot be used that way: Calcite keeps its metadata provider in a
thread local set only on the Java thread that built the planner (FLINK-36298), and a plan made
on another thread fails with `NullPointerException: metadataHandlerProvider`. A thread gateway
keeps one connection for the thread that made it; calls from other threads (py4j releasing a
Java object when Python collects its proxy) take other connections, as before.

pyflink is optional (`kappa-migrate[flink]`): import this module only where pyflink is needed.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from py4j.java_gateway import GatewayClient, JavaGateway
from pyflink.java_gateway import get_gateway

__all__ = ["JVM_OPTIONS", "flink_gateway", "thread_gateway"]

JVM_OPTIONS = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"
_JVM_ARGS = "JVM_ARGS"  # the environment variable pyflink adds to the java command line
_STARTING = threading.Lock()


def flink_gateway() -> Any:
    """pyflink's gateway, its JVM started with `JVM_OPTIONS` unless `JVM_ARGS` is set (or the
    JVM runs already). Errors starting Java pass through."""
    with _STARTING:  # the variable is set only while pyflink starts the JVM
        own = _JVM_ARGS not in os.environ
        if own:
            os.environ[_JVM_ARGS] = JVM_OPTIONS
        try:
            return get_gateway()
        finally:
            if own:
                del os.environ[_JVM_ARGS]


def thread_gateway() -> Any:
    """A `JavaGateway` into pyflink's JVM pinned to the calling thread; `close()` it when done.

    Starts the JVM (`flink_gateway()`) if it does not run yet."""
    return _PinnedGateway(gateway_parameters=flink_gateway().gateway_parameters)


class _PinnedClient(GatewayClient):  # type: ignore[misc]  # py4j has no types
    """Every call from the owner thread goes through one connection (one Java thread); a call
    made while that connection is busy (a collected proxy released in the middle of a call) takes
    another, as py4j's own client would."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._owner = threading.get_ident()
        self._pinned: Any = None
        self._pinned_busy = False

    def _get_connection(self) -> Any:
        if threading.get_ident() != self._owner or self._pinned_busy:
            return super()._get_connection()
        if self._pinned is None:
            self._pinned = super()._get_connection()
        self._pinned_busy = True
        return self._pinned

    def _give_back_connection(self, connection: Any) -> None:
        if connection is self._pinned:
            self._pinned_busy = False
        else:
            super()._give_back_connection(connection)

    def close(self) -> None:
        pinned, self._pinned = self._pinned, None
        if pinned is not None:
            super()._give_back_connection(pinned)  # closed with the others
        super().close()


class _PinnedGateway(JavaGateway):  # type: ignore[misc]
    def _create_gateway_client(self) -> Any:
        return _PinnedClient(gateway_parameters=self.gateway_parameters)
