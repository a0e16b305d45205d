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
from typing import Any

MEMORY_BUDGET = 2 << 30  # bytes a child may add to what it holds at start; ample for Excel's 1,048,576 rows
TIME_LIMIT = 600.0  # seconds for one file


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
    child = context.Process(target=_child, args=(send, function, args, memory), daemon=True)
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


def _child(send: Connection, function: Callable[..., Any], args: tuple, memory: int) -> None:
    _limit_memory(memory)
    _silence_stderr()  # the Rust reader prints a backtrace when it aborts; the parent says it in words
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


def _silence_stderr() -> None:
    with open(os.devnull, "w") as devnull:
        os.dup2(devnull.fileno(), 2)


def _limit_memory(extra: int) -> None:
    """RLIMIT_AS where the platform has it (Linux); elsewhere the child still isolates crashes."""
    try:
        import resource

        with open("/proc/self/statm") as statm:
            in_use = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        resource.setrlimit(resource.RLIMIT_AS, (in_use + extra, in_use + extra))
    except (ImportError, OSError, ValueError):
        return


def _context():
    """fork on Linux: a child costs a few milliseconds and already holds the readers; spawn
    elsewhere (macOS, where fork is unsafe, and Windows), where the caller's main module must be
    import-safe."""
    return multiprocessing.get_context("fork" if sys.platform.startswith("linux") else "spawn")


def cores() -> int:
    """The cores this process may use (its affinity, not the machine's count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1
