"""Run a reader of untrusted files in a child process with a memory and a time limit.

The Rust reader aborts the whole process when a hostile workbook asks it for more memory than the
machine has (a sheet claiming a cell at XFD1048576 asks for half a terabyte; a zip bomb for as much
as it unpacks to). In a child, that abort costs one file, never the run: the parent turns it into a
plain message and carries on with the next workbook.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

MEMORY_BUDGET = 2 << 30  # bytes a child may add to what it holds at start; ample for Excel's 1,048,576 rows
TIME_LIMIT = 600.0  # seconds for one file
PR_SET_PDEATHSIG = 1  # prctl(2): the signal a child gets when its parent dies
START_METHOD_VARIABLE = "COMPENSATION_START_METHOD"


class ChildFailed(Exception):
    """The child ran out of memory or time, or died; the message says which, in words."""


class ChildRaised(Exception):
    """The function raised in the child; carries the exception's type name and message."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


def run_isolated(function: Callable[..., Any], *args: Any, memory: int = MEMORY_BUDGET,
                 seconds: float = TIME_LIMIT) -> Any:
    """function(*args) in a child process; its result, or ChildRaised / ChildFailed.
    `function` and its arguments and result must pickle (a module-level function, plain data)."""
    (result,) = map_isolated(function, [args], 1, memory, seconds)
    if isinstance(result, (ChildRaised, ChildFailed)):
        raise result
    return result


def map_isolated(function: Callable[..., Any], arguments: list[tuple], workers: int | None = None,
                 memory: int = MEMORY_BUDGET, seconds: float = TIME_LIMIT,
                 on_done: Callable[[int], None] | None = None) -> list[Any]:
    """function(*args) for each args, each in a child process of its own, `workers` at a time
    (default: one per core). Returns, in order, each result or the ChildRaised / ChildFailed
    exception that it ended with; one failing child never stops the others. `on_done(count)`
    hears how many have finished."""
    workers = workers or cores()
    context = _context()
    results: list[Any] = [None] * len(arguments)
    waiting = list(enumerate(arguments))[::-1]
    running: list[_Job] = []
    try:
        while waiting or running:
            while waiting and len(running) < workers:
                index, args = waiting.pop()
                running.append(_start(context, function, index, args, memory, seconds))
            _wait_for_any(running)
            for job in [job for job in running if job.finished()]:
                results[job.index] = _collect(job, memory)
                running.remove(job)
                if on_done:
                    on_done(len(arguments) - len(waiting) - len(running))
    finally:
        for job in running:
            job.stop()
    return results


@dataclass
class _Job:
    index: int
    child: Any
    receive: Connection
    seconds: float
    deadline: float

    def finished(self) -> bool:
        return self.receive.poll() or not self.child.is_alive() or time.monotonic() > self.deadline

    def stop(self) -> None:
        self.receive.close()
        if self.child.is_alive():
            self.child.kill()
        self.child.join()


def _start(context, function: Callable[..., Any], index: int, args: tuple, memory: int, seconds: float) -> _Job:
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=_child, args=(send, function, args, memory, os.getpid()), daemon=True)
    child.start()
    send.close()
    return _Job(index, child, receive, seconds, time.monotonic() + seconds)


def _wait_for_any(running: list[_Job]) -> None:
    timeout = max(0.0, min(job.deadline for job in running) - time.monotonic())
    wait([job.receive for job in running] + [job.child.sentinel for job in running], timeout=timeout)


def _collect(job: _Job, memory: int) -> Any:
    try:
        if job.receive.poll():
            message = job.receive.recv()
        elif job.child.is_alive():  # past its deadline
            message = ("timeout", job.seconds)
        else:
            raise EOFError
    except (EOFError, OSError):  # the child died before it could answer
        job.child.join()
        message = ("died", job.child.exitcode)
    job.stop()
    try:
        return _outcome(message, memory)
    except (ChildRaised, ChildFailed) as exc:
        return exc


def _outcome(message: tuple, memory: int) -> Any:
    status, *rest = message
    if status == "ok":
        return rest[0]
    if status == "raised":
        raise ChildRaised(*rest)
    if status == "memory":
        raise ChildFailed(f"reading it needs more than {memory >> 20:,} MB of memory")
    if status == "timeout":
        raise ChildFailed(f"reading it takes longer than {rest[0]:,.0f} seconds")
    code = rest[0]
    if code in (-signal.SIGABRT, -signal.SIGKILL):  # the Rust reader aborts when an allocation fails
        raise ChildFailed(f"the reader stopped (signal {-code}), as it does when a sheet claims more than "
                          f"{memory >> 20:,} MB of memory")
    raise ChildFailed(f"the reader stopped unexpectedly (exit status {code})")


def _child(send: Connection, function: Callable[..., Any], args: tuple, memory: int, parent: int) -> None:
    end_with_parent(parent)
    _limit_memory(memory)
    _silence_output()  # the Rust reader prints a backtrace when it aborts; the parent says it in words
    try:
        message: tuple = ("ok", function(*args))
    except MemoryError:
        message = ("memory",)
    except Exception as exc:  # every failure goes back to the parent as words
        message = ("raised", type(exc).__name__, str(exc))
    try:
        send.send(message)
    except MemoryError:
        send.send(("memory",))
    send.close()


def _silence_output() -> None:
    """Nothing of the child's reaches the command's output, and the child does not hold it open: a
    program reading the command's output sees its end when the command ends."""
    with open(os.devnull, "w") as devnull:
        os.dup2(devnull.fileno(), 1)
        os.dup2(devnull.fileno(), 2)


def end_with_parent(parent: int) -> None:
    """In a child: die with the parent, however the parent ends (SIGKILL included), and leave signals
    to it. Linux's parent-death signal, then a look at the parent, for a parent gone before the
    signal was asked for. Elsewhere the parent stops its children on every way out it can see."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the parent decides
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if sys.platform.startswith("linux"):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:
        os._exit(1)


def _limit_memory(extra: int) -> None:
    """RLIMIT_AS where the platform has it (Linux); elsewhere the child still isolates crashes."""
    try:
        import resource

        with open("/proc/self/statm") as statm:
            in_use = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        resource.setrlimit(resource.RLIMIT_AS, (in_use + extra, in_use + extra))
    except (ImportError, OSError, ValueError):
        return


def start_method() -> str:
    """fork on Linux: a child costs a few milliseconds and already holds the readers; spawn
    elsewhere (macOS, where fork is unsafe, and Windows), where the caller's main module must be
    import-safe. COMPENSATION_START_METHOD=spawn (or fork) chooses, so that the tests can run the
    children as macOS and Windows do."""
    chosen = os.environ.get(START_METHOD_VARIABLE, "")
    if chosen in ("fork", "spawn") and chosen in multiprocessing.get_all_start_methods():
        return chosen
    return "fork" if sys.platform.startswith("linux") else "spawn"


def _context():
    return multiprocessing.get_context(start_method())


def cores(cgroup: Path = Path("/sys/fs/cgroup")) -> int:
    """The cores this process may use: its affinity, capped by a container's CPU quota (cgroup v2
    cpu.max, or v1 cpu.cfs_quota_us over cpu.cfs_period_us), rounded down, at least one."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        usable = os.cpu_count() or 1
    quota = _cpu_quota(cgroup)
    return max(1, min(usable, int(quota)) if quota else usable)


def _cpu_quota(root: Path) -> float | None:
    """CPUs' worth of time a container may use; None when unlimited or not said."""
    try:
        limit, period = (root / "cpu.max").read_text().split()[:2]
        return None if limit == "max" else int(limit) / int(period)
    except (OSError, ValueError):
        pass
    try:
        quota_us = int((root / "cpu" / "cpu.cfs_quota_us").read_text())
        period_us = int((root / "cpu" / "cpu.cfs_period_us").read_text())
        return None if quota_us <= 0 else quota_us / period_us
    except (OSError, ValueError):
        return None
