"""The workspace on disk (SPEC 1): configuration, inbox discovery, file moves, the run lock.

Files a user dropped are moved, never deleted or overwritten: a name clash gets a suffix.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import sqlite3
import sys
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from compensation_report.errors import BusyError, ConfigError, WorkspaceError
from compensation_report.schema import EXCEL_SUFFIXES

LOCALES = ("en", "zh-CN")
NAME_MAX = 255  # bytes in one file name on Linux file systems; other systems allow at least as much
CONFIG_NAME = "compensation.toml"


@dataclass(frozen=True)
class SmtpConfig:
    host: str = "localhost"
    port: int = 25
    security: str = "none"
    username: str = ""
    password_env: str = "SMTP_PASSWORD"
    timeout: float = 30.0  # seconds, for connecting and for each command
    attempts: int = 3  # tries per message while the server is down or answers "try later" (4xx)
    retry_seconds: float = 2.0  # the wait before the second try, doubled before each next one
    ca_file: Path | None = None  # a certificate to trust besides the system's, for a self-signed server


@dataclass(frozen=True)
class Burst:
    """[[email.burst]]: a report of one business unit's incidents, to its own recipients."""

    business_unit: str
    to: tuple[str, ...]


@dataclass(frozen=True)
class EmailConfig:
    mode: str = "outbox"
    sender: str = "compensation-report@example.com"
    to: tuple[str, ...] = ()
    templates: Path | None = None
    max_attachment_mb: float = 10.0  # a larger report is not attached; the email says where it is
    smtp: SmtpConfig = field(default_factory=SmtpConfig)
    bursts: tuple[Burst, ...] = ()


@dataclass(frozen=True)
class Config:
    root: Path
    rates: Path
    locale: str = "en"
    large_loss: Decimal | None = None  # Summary lists incidents with at least this net; none: the top ten
    settle_seconds: float = 2.0
    email: EmailConfig = field(default_factory=EmailConfig)

    def folder(self, name: str) -> Path:
        return self.root / name

    @property
    def ledger_path(self) -> Path:
        return self.root / "ledger.sqlite"


def load_config(root: Path) -> Config:
    """Read compensation.toml; raises ConfigError naming the file and the key."""
    path = root / CONFIG_NAME
    if not path.is_file():
        raise ConfigError(f"{path}: no {CONFIG_NAME} here; create a workspace with 'compensation-report init DIR'")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    report, inbox, email = data.get("report", {}), data.get("inbox", {}), data.get("email", {})
    locale = report.get("locale", "en")
    if locale not in LOCALES:
        raise ConfigError(f"{path}: [report] locale must be one of {', '.join(LOCALES)}, not {locale!r}")
    mode = email.get("mode", "outbox")
    if mode not in ("outbox", "smtp"):
        raise ConfigError(f"{path}: [email] mode must be \"outbox\" or \"smtp\", not {mode!r}")
    smtp = email.get("smtp", {})
    security = smtp.get("security", "none")
    if security not in ("none", "starttls", "ssl"):
        raise ConfigError(f"{path}: [email.smtp] security must be none, starttls or ssl, not {security!r}")
    templates = email.get("templates")
    return Config(
        root=root,
        rates=root / report.get("rates", "rates/rates.xlsx"),
        locale=locale,
        large_loss=_large_loss(path, report.get("large_loss")),
        settle_seconds=float(inbox.get("settle_seconds", 2)),
        email=EmailConfig(
            mode=mode,
            sender=email.get("from", EmailConfig.sender),
            to=tuple(email.get("to", ())),
            templates=(root / templates) if templates else None,
            max_attachment_mb=_positive(path, email, "max_attachment_mb", 10.0, section="email"),
            bursts=_bursts(path, email.get("burst", [])),
            smtp=SmtpConfig(host=smtp.get("host", "localhost"), port=int(smtp.get("port", 25)), security=security,
                            username=smtp.get("username", ""), password_env=smtp.get("password_env", "SMTP_PASSWORD"),
                            timeout=_positive(path, smtp, "timeout", 30.0),
                            attempts=_whole(path, smtp, "attempts", 3),
                            retry_seconds=_positive(path, smtp, "retry_seconds", 2.0, zero=True),
                            ca_file=(root / smtp["ca_file"]) if smtp.get("ca_file") else None),
        ),
    )


def _positive(path: Path, table: dict, key: str, default: float, zero: bool = False,
              section: str = "email.smtp") -> float:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < float("inf") \
            or (value == 0 and not zero):
        raise ConfigError(f"{path}: [{section}] {key} must be a number {'of 0 or more' if zero else 'above 0'}, "
                          f"not {value!r}")
    return float(value)


def _whole(path: Path, table: dict, key: str, default: int) -> int:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{path}: [email.smtp] {key} must be a whole number of 1 or more, not {value!r}")
    return value


def _bursts(path: Path, entries: object) -> tuple[Burst, ...]:
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ConfigError(f"{path}: [[email.burst]] must be a list of tables with business_unit and to")
    bursts = []
    for n, entry in enumerate(entries, start=1):
        unit, to = entry.get("business_unit"), entry.get("to")
        if not isinstance(unit, str) or not unit.strip():
            raise ConfigError(f"{path}: [[email.burst]] number {n} needs a business_unit")
        if not isinstance(to, list) or not to or not all(isinstance(a, str) and "@" in a for a in to):
            raise ConfigError(f"{path}: [[email.burst]] {unit!r} needs to = [\"someone@example.com\", …]")
        bursts.append(Burst(unit.strip(), tuple(to)))
    return tuple(bursts)


def _large_loss(path: Path, value: object) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < float("inf"):
        raise ConfigError(f"{path}: [report] large_loss must be an amount of 0 or more, not {value!r}")
    return Decimal(str(value))


@dataclass
class InboxScan:
    """The inbox's files, each once: the workbooks ready to take (oldest first), and the rest."""

    ready: list[Path] = field(default_factory=list)
    settling: list[Path] = field(default_factory=list)  # modified too recently: perhaps still being written
    open_in_excel: list[Path] = field(default_factory=list)  # Excel's lock file (~$…) is beside it
    not_workbooks: list[Path] = field(default_factory=list)  # other files: left where they are

    def left(self, settle_seconds: float) -> list[tuple[str, str]]:
        """(name, why) of every file a run leaves in the inbox."""
        return [(p.name, f"modified less than {settle_seconds:g} s ago (perhaps still being copied): the next run "
                         "takes it") for p in self.settling] + self.not_taken()

    def not_taken(self) -> list[tuple[str, str]]:
        """(name, why) of the files no run takes as they are: open in Excel, or not workbooks."""
        return ([(p.name, "open in Excel (its lock file ~$… is beside it): the run after it is closed takes it")
                 for p in self.open_in_excel]
                + [(p.name, "not a workbook (.xlsx or .xlsm): left where it is") for p in self.not_workbooks])


def inbox_files(inbox: Path, settle_seconds: float, now: float) -> InboxScan:
    """Every file of the inbox, sorted into what a run takes and what it leaves. Excel's lock files
    (~$*) and dot-files are the system's, not the user's: not listed."""
    scan = InboxScan()
    if not inbox.is_dir():
        return scan
    names = {p.name for p in inbox.iterdir()}
    found = []
    for path in inbox.iterdir():
        if path.name.startswith(("~$", ".")) or not path.is_file():
            continue
        if path.suffix.lower() not in EXCEL_SUFFIXES + (".xls",) and not _worth_rejecting(path):
            scan.not_workbooks.append(path)
        elif f"~${path.name}" in names or f"~${path.name[2:]}" in names:  # Excel's two ways of naming it
            scan.open_in_excel.append(path)
        else:
            found.append((path.stat().st_mtime, path.name, path))
    for mtime, _, path in sorted(found):
        (scan.settling if now - mtime < settle_seconds else scan.ready).append(path)
    for group in (scan.open_in_excel, scan.not_workbooks):
        group.sort()
    return scan


def _worth_rejecting(path: Path) -> bool:
    """Other files in the inbox are left alone, except ones that look like a misnamed workbook."""
    return path.suffix.lower() in (".xlsb", ".ods", ".csv")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def move_to(path: Path, target: Path) -> tuple[Path, bool]:
    """Move a user's file to the place recorded for it, never over another file: the place, and
    whether the inbox let go of it. A symbolic link is replaced by a copy of the bytes it points to
    (moved as a link it would dangle, relative, and the input would not be kept); what it points to
    is left as it is. A file the inbox will not let us remove (an immutable file, a share that
    forbids deleting) is copied and left where it is."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        target = free_name(target.parent, target.name)
    if not path.is_symlink():
        try:
            os.rename(path, target)
            return target, True
        except OSError:  # another file system, or the inbox forbids it: copy, then let go
            pass
    shutil.copyfile(path, target)
    try:
        path.unlink()
    except OSError:
        return target, False
    return target, True


def free_name(folder: Path, name: str) -> Path:
    """`name` in `folder`, or `name (2)`, `(3)` … when taken; always short enough for the file system."""
    stem, suffix = Path(name).stem, Path(name).suffix
    target, n = folder / fitting(name), 1
    while target.exists():
        n += 1
        target = folder / fitting(stem, f" ({n}){suffix}")
    return target


FULL = (errno.ENOSPC, errno.EDQUOT)
REFUSED = (errno.EACCES, errno.EPERM, errno.EROFS)


@contextmanager
def plain_disk_errors(root: Path, ledger: Path) -> Iterator[None]:
    """A full disk, a read-only or forbidden folder, said in words naming the place and what to do
    (exit 2), instead of an unexpected error; the same for the ledger's own writes."""
    try:
        yield
    except sqlite3.OperationalError as exc:
        if "full" in str(exc):
            raise WorkspaceError(f"the disk holding {ledger} is full: free some space and run again; the next "
                                 "run finishes what this one began") from exc
        if "readonly" in str(exc) or "read-only" in str(exc):
            raise WorkspaceError(f"{ledger} cannot be written ({exc}): give the account that runs "
                                 "compensation-report write access to it and its folder, then run again") from exc
        raise
    except OSError as exc:
        place = exc.filename or root
        if exc.errno in FULL:
            raise WorkspaceError(f"the disk holding {place} is full: free some space and run again; the next "
                                 "run finishes what this one began") from exc
        if exc.errno in REFUSED:
            raise WorkspaceError(f"{place} cannot be used ({exc.strerror}): give the account that runs "
                                 f"compensation-report access to it and to {Path(place).parent}, or make it "
                                 "writable again, then run again; the next run finishes what this one began") from exc
        raise


def write_text_whole(path: Path, text: str) -> Path:
    """The file appears whole or not at all (a full disk or a kill mid-write leaves no half file)."""
    partial = path.with_name(f".partial-{os.getpid()}{path.suffix}")
    try:
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return path


def errors_file(rejected: Path) -> Path:
    """Where a rejected workbook's problems are listed, beside it."""
    return rejected.parent / fitting(rejected.name, ".errors.txt")


def annotated_file(rejected: Path) -> Path:
    """Where a rejected workbook's copy with its bad cells marked goes, beside it."""
    return rejected.parent / fitting(rejected.stem, f".annotated{rejected.suffix}")


def fitting(stem: str, suffix: str = "") -> str:
    """stem + suffix, its stem cut (on a character, never inside one) to keep the whole within
    NAME_MAX bytes, with a short hash of what was cut so that two long names stay two names."""
    if len((stem + suffix).encode()) <= NAME_MAX:
        return stem + suffix
    mark = "~" + hashlib.sha256(stem.encode()).hexdigest()[:8]
    room = NAME_MAX - len((mark + suffix).encode())
    return stem.encode()[:room].decode(errors="ignore") + mark + suffix


class RunLock:
    """`<workspace>/.run.lock`, locked by the operating system while a run works and holding its
    process id. The OS drops the lock when the process ends, however it ends, so the lock of a
    killed run is simply taken over; `taken_over` then names the process that left it."""

    def __init__(self, root: Path):
        self.path = root / ".run.lock"
        self.taken_over: int | None = None
        self._fd: int | None = None

    def __enter__(self) -> RunLock:
        fd = os.open(self.path, os.O_CREAT | os.O_RDWR)
        try:
            locked = _try_lock(fd)
        except ConfigError:
            os.close(fd)
            raise
        if not locked:
            holder = _read_holder(fd)
            os.close(fd)
            raise BusyError(f"another run (process {holder or 'unknown'}) is working in {self.path.parent}; "
                            "try again when it has finished")
        holder = _read_holder(fd)
        self.taken_over = holder if holder and holder != os.getpid() else None
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, f"{os.getpid()}\n{datetime.now().isoformat()}\n".encode())
        self._fd = fd
        return self

    def __exit__(self, *exc: object) -> None:
        # The file stays: deleting it would let a third run lock a new file while a second waits on this one.
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            os.close(self._fd)  # closing releases the lock
            self._fd = None


def _try_lock(fd: int) -> bool:
    """A lock of this process only: POSIX record locks are not inherited by the reader children."""
    if sys.platform == "win32":
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in (errno.EAGAIN, errno.EACCES):  # held by another process
            return False
        raise ConfigError(f"cannot lock the workspace ({exc.strerror}); a network share without file locks? "
                          "Keep the workspace on a local disk or a share that supports locking") from exc
    return True


def _read_holder(fd: int) -> int | None:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        return int(os.read(fd, 64).split()[0])
    except (OSError, ValueError, IndexError):
        return None
