"""Open an upload in a child process, under a memory and CPU budget.

Anyone may upload a file and view its mapping page, and what a file costs to open is set
by the file: 64 KB cost csv.Sniffer 16 CPU seconds, a 2.1 MB XLSX took a worker to 2 GB
and the memory stayed taken (issue 18). The readers now bound what they know of
(registry.importer.readers, registry.importer.xlsx); this module bounds the rest. The
intake app opens an upload, and reads its first rows, in a child process limited by
setrlimit (RLIMIT_AS: address space; RLIMIT_CPU: seconds of CPU) and by a wall-clock
timeout: a file past the budget costs at most the budget, the child's memory goes back to
the system when it ends, the worker carries on, and the contributor reads "This file could
not be read within ...".

The children are forked by multiprocessing's fork server, which imports the readers and
openpyxl once (a process per worker, started at its first upload, 34 MB of its own): a
child costs about 0.01 CPU s where a new interpreter would cost about 0.2 s, and nothing
is forked from a worker's threads (docs/performance.md, "Reading uploads within a
budget"). The command-line import does not use this: an operator's own files are read in
the importer's process, at full speed.
"""

from __future__ import annotations

import math
import multiprocessing
import pickle
import resource
import signal
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from registry.config import Settings
from registry.importer import readers
from registry.importer.readers import ReadError

CELL_SHOWN = 1_000  # characters of a sampled cell sent back (a mapping page shows a few dozen)
MAX_ANSWER = 8 * 1024 * 1024  # bytes of the child's answer: columns and first rows
HINT = " (saved as CSV, which is read as it streams, it may fit)"
# Imported once by the fork server, not by each child. Each child still runs the main script
# (as __mp_main__: Python 3.11's fork server never preloads it), which for `registry serve`
# imports registry.cli: preloaded, that costs nothing (else 0.35 CPU s a child).
PRELOAD = ["registry.cli", "registry.importer.budget", "registry.importer.xlsx", "openpyxl"]

_context = multiprocessing.get_context("forkserver")
_context.set_forkserver_preload(PRELOAD)


class BudgetError(ReadError):
    """Reading the file went past the budget; the message says which limit."""


@dataclass(frozen=True)
class Budget:
    """What opening one upload may cost: megabytes of memory beyond the child's start, CPU
    seconds (whole: RLIMIT_CPU counts seconds), and a wall-clock limit for a loaded machine."""

    memory_mb: int = 150
    cpu_seconds: int = 2
    wall_seconds: float = 30.0

    @classmethod
    def of(cls, settings: Settings) -> Budget:
        """The budget the settings give (REGISTRY_READ_MEMORY_MB, REGISTRY_READ_CPU_SECONDS)."""
        return cls(settings.read_memory_mb, settings.read_cpu_seconds, max(30.0, 10.0 * settings.read_cpu_seconds))

    def describe(self) -> str:
        seconds = "1 second" if self.cpu_seconds == 1 else f"{self.cpu_seconds} seconds"
        return f"{self.memory_mb} MB of memory and {seconds} of CPU"


def sample(path: Path, rows: int, budget: Budget, **options: Any) -> tuple[list[str], list[dict[str, str]]]:
    """The columns and first `rows` rows of `path` (readers.sample), read within `budget`.

    :param options: readers.read_table's fmt, json_path, sheet and name.
    """
    name = options.get("name") or path.name
    receiver, sender = _context.Pipe(duplex=False)
    child = _context.Process(target=_child, args=(sender, path, rows, options, budget), daemon=True)
    child.start()
    sender.close()  # the child holds its end: a child that dies closes the pipe
    answer, late = None, False
    try:
        if receiver.poll(budget.wall_seconds):
            answer = receiver.recv_bytes(MAX_ANSWER)
        else:  # past the wall-clock limit: a loaded machine, or a blocked read
            late = True
    except (EOFError, OSError):  # the child died (CPU limit) or answered too much
        pass
    finally:
        receiver.close()
        if late:
            child.kill()
        child.join(timeout=5)
        if child.is_alive():  # still writing an answer nobody reads
            child.kill()
            child.join()
    if answer is None:
        why = "it took too long" if late else _why(child.exitcode)
        raise BudgetError(f"{name}: This file could not be read within {budget.describe()}: {why}{HINT}")
    kind, value = pickle.loads(answer)  # noqa: S301 (from our own child)
    if kind == "error":
        raise ReadError(value)
    if kind == "memory":
        raise BudgetError(f"{name}: This file could not be read within {budget.describe()}: it needs more memory{HINT}")
    return value


def _why(exitcode: int | None) -> str:
    if exitcode in (-signal.SIGXCPU, -signal.SIGKILL):  # RLIMIT_CPU's soft and hard limits
        return "it needs more CPU time"
    return "the reader stopped (it needs more memory than the budget, or the file is damaged)"


def _child(sender: Connection, path: Path, rows: int, options: dict[str, Any], budget: Budget) -> None:
    """In the child: limit this process, read, send the answer (pickled) or what went wrong."""
    _limit(budget)
    try:
        columns, first = readers.sample(path, rows, **options)
        answer: tuple[str, Any] = ("ok", (columns, [{k: v[:CELL_SHOWN] for k, v in r.items()} for r in first]))
    except ReadError as e:
        answer = ("error", str(e))
    except MemoryError:
        answer = ("memory", None)
    data = pickle.dumps(answer)
    if len(data) > MAX_ANSWER:
        data = pickle.dumps(("error", f"{options.get('name') or path.name}: the first rows are too large to show"))
    sender.send_bytes(data)
    sender.close()


def _limit(budget: Budget) -> None:
    """Cap this process's address space at what it has now plus the budget, and its CPU time."""
    resource.setrlimit(resource.RLIMIT_AS, (_address_space() + budget.memory_mb * 1024 * 1024,) * 2)
    seconds = math.ceil(budget.cpu_seconds)
    resource.setrlimit(resource.RLIMIT_CPU, (seconds, seconds + 1))  # soft: SIGXCPU; hard: SIGKILL


def _address_space() -> int:
    """This process's virtual memory size in bytes (VmSize)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmSize:"):
            return int(line.split()[1]) * 1024
    raise OSError("no VmSize in /proc/self/status")
