"""Error types. Each exception carries the exit status SPEC section 6 gives it."""

from __future__ import annotations

from compensation_report.model import Problem


class CompensationError(Exception):
    """Base class: something stopped a command."""

    exit_status = 2


class ConfigError(CompensationError):
    """compensation.toml, the rates workbook or the command line is wrong; nothing was changed."""

    exit_status = 2


class WorkspaceError(CompensationError):
    """The workspace's disk or folders refused a write (full, read only, no permission). The run
    stopped where it was; the next run, once that is fixed, finishes what it began."""

    exit_status = 2


class BusyError(CompensationError):
    """Another run holds the workspace lock."""

    exit_status = 2


class InvalidStandard(ConfigError):
    """The rates workbook has problems; every one is listed."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        lines = "\n".join(f"  {p}" for p in problems)
        super().__init__(f"the compensation standard has {len(problems)} problem(s):\n{lines}")


class Stopped(BaseException):
    """A signal (Ctrl-C, SIGTERM) stopped the command. A BaseException, like KeyboardInterrupt: no
    `except Exception` on the way may take it for an error of the input."""

    def __init__(self, signal_number: int):
        super().__init__(signal_number)
        self.exit_status = 128 + signal_number  # the shell's convention: 130 for Ctrl-C, 143 for SIGTERM


class StoredResultsDiffer(CompensationError):
    """`run --verify`: the stored period results are not what a full re-price of the ledger gives. A bug
    of ours, never of the input: exit 4, as for any internal error."""

    exit_status = 4

    def __init__(self, differences: list[str]):
        self.differences = differences
        lines = "\n".join(f"  {d}" for d in differences[:50])
        super().__init__(f"the stored period results differ from a full re-price of the ledger:\n{lines}")


class DeliveryError(CompensationError):
    """The report was written but an email could not be delivered (kept in outbox/)."""

    exit_status = 3
