"""Result folders on disk: inside `--out`, claimed, written beside, put in place whole, and
replaced only when this program wrote them.

Every command that writes a result folder (run, compare, n1, sweep) goes through here:

- **Inside `--out`.** A folder lies strictly inside `--out`, with no `.`, `..` or symbolic link
  on the way (`checked_folder`): never `--out` itself, never anywhere else.
- **Claimed.** A lock file `.<name>.lock` beside the folder is held (`fcntl.flock`) while the
  folder is written (a sweep: its whole life). The kernel drops the lock when its process dies,
  however it dies, so a dead writer's lock is taken over at once; a live writer's lock is
  refused (`FolderBusyError`, exit 3). The lock file is removed when released.
- **Written beside.** Files go into a hidden temporary `.<name>.<host>-<pid>-<random>.tmp`
  beside the folder, so a folder under `--out` is complete or absent.
- **Put in place whole.** A new folder is renamed into place with `renameat2(RENAME_NOREPLACE)`
  (Linux), which fails if anything took the name meanwhile. A `--force` replacement swaps the
  two folders in one `renameat2(RENAME_EXCHANGE)`, so the name always holds either the old or
  the new folder, whenever a kill strikes. Where the kernel or filesystem lacks renameat2, two
  renames are used (old → `.<name>.<host>-<pid>-<random>.old`, new → name) and the next writer
  of that folder puts the old one back if a kill struck between them.
- **Replaced only if ours.** `--force` replaces a folder only if its manifest.json says
  `"program": "oil-supply-sim"` and the same `kind` (or it is empty); never a symbolic link.
- **Leftovers cleaned.** Claiming a folder removes the temporaries beside it whose writer (on
  this host) is no longer running, and any older than `STALE_DAYS` days.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import hashlib
import json
import os
import re
import secrets
import shutil
import socket
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from sim.errors import ResultsExistError
from sim.version import PROGRAM

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: exclusive lock files instead
    fcntl = None  # type: ignore[assignment]

O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
O_DIRECTORY = getattr(os, "O_DIRECTORY", 0)

#: Temporaries older than this are removed whoever wrote them (PIDs are reused, hosts differ).
STALE_DAYS = 7
#: Temporaries of an earlier version of the program (no PID in their name): removed after this.
OLD_FORMAT_STALE_HOURS = 24

_TAG = re.compile(r"(?P<host>[0-9a-f]{8})-(?P<pid>\d+)-[0-9a-f]{8}")
_ENTRY = re.compile(r"^\.(?P<name>.+)\.(?P<tag>[0-9a-f]{8}-\d+-[0-9a-f]{8})\.(?P<what>tmp|old)$")
#: An earlier version's temporaries: result folders (tempfile.mkdtemp), a sweep's files (PID).
_OLD_TMP = re.compile(r"^\..+\.[a-z0-9_]{8}\.tmp$")
_OLD_PID_TMP = re.compile(r"^\..+\.(?P<pid>\d+)\.tmp$")


class FolderBusyError(ResultsExistError):
    """Another running process is writing the folder."""


class NotOurFolderError(ResultsExistError):
    """`--force` was asked for a folder this program did not write (or of another kind)."""


class UnsafeFolderError(ResultsExistError):
    """The folder would not lie inside `--out`, or a symbolic link is in the way."""


# ------------------------------------------------------------------ names and processes


def host_tag() -> str:
    """8 hex digits naming this host in temporaries (a PID means something on its host only)."""
    return hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]


def writer_tag() -> str:
    """`<host>-<pid>-<random>`: who writes a temporary, and a random part to keep it unique."""
    return f"{host_tag()}-{os.getpid()}-{secrets.token_hex(4)}"


def pid_alive(pid: int) -> bool:
    """Whether a process with this PID runs on this host (this process counts)."""
    if pid <= 0:
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def writer_gone(tag: str) -> bool:
    """Whether the writer named by a `writer_tag` is known to be dead (same host, no PID)."""
    match = _TAG.fullmatch(tag)
    if match is None or match["host"] != host_tag():
        return False
    return not pid_alive(int(match["pid"]))


def remove(path: Path) -> None:
    """Remove a file, a symbolic link (not what it points to) or a folder tree."""
    if path.is_symlink() or not path.is_dir():
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
    else:
        shutil.rmtree(path)  # never follows symbolic links inside


# ------------------------------------------------------------------ where


def checked_folder(out: str | Path, folder: str | Path) -> Path:
    """`folder`, checked to lie strictly inside `out`, with every folder between them created
    and none of them a symbolic link (`out` itself may be one). Raises UnsafeFolderError."""
    out, folder = Path(out), Path(folder)
    try:
        parts = folder.relative_to(out).parts
    except ValueError:
        raise UnsafeFolderError(f"{folder} is not inside {out}; not written") from None
    if not parts or any(p in ("", ".", "..") for p in parts):
        raise UnsafeFolderError(
            f"{folder} is not a folder inside {out} (a name of '.' or '..'?); not written"
        )
    folder.parent.mkdir(parents=True, exist_ok=True)
    expected = os.path.join(os.path.realpath(out), *parts[:-1])
    if os.path.realpath(folder.parent) != expected:
        raise UnsafeFolderError(
            f"{folder.parent} leads outside {out} through a symbolic link; not written"
        )
    return folder


# ------------------------------------------------------------------ the lock


class FolderLock:
    """`.<name>.lock` beside a folder, held by one process at a time (see the module's notes)."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.path = folder.with_name(f".{folder.name}.lock")
        self._fd: int | None = None

    def acquire(self) -> FolderLock:
        while self._fd is None:
            fd = self._open()
            if not self._lock(fd):
                holder = self._holder(fd)
                os.close(fd)
                raise FolderBusyError(
                    f"{self.folder} is being written by another process ({holder}); "
                    "wait for it to finish, or --out elsewhere"
                )
            # The holder before us may have removed the file between our open and our lock:
            # then we hold a lock on a file no one else will open; start again.
            try:
                named = os.stat(self.path, follow_symlinks=False)
            except FileNotFoundError:
                os.close(fd)
                continue
            held = os.fstat(fd)
            if (named.st_dev, named.st_ino) != (held.st_dev, held.st_ino):
                os.close(fd)
                continue
            os.ftruncate(fd, 0)
            os.write(fd, f"pid {os.getpid()} on {socket.gethostname()}\n".encode())
            self._fd = fd
        return self

    def _open(self) -> int:
        flags = os.O_RDWR | os.O_CREAT | O_NOFOLLOW | O_CLOEXEC
        if fcntl is None:  # pragma: no cover - not POSIX
            flags |= os.O_EXCL
        try:
            return os.open(self.path, flags, 0o644)
        except FileExistsError:  # pragma: no cover - not POSIX: a lock file exists
            raise FolderBusyError(
                f"{self.folder} is being written by another process (or one that died: "
                f"remove {self.path} if none runs)"
            ) from None
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise UnsafeFolderError(f"{self.path} is a symbolic link; not followed") from None
            raise

    @staticmethod
    def _lock(fd: int) -> bool:
        if fcntl is None:  # pragma: no cover - not POSIX: O_EXCL made it ours
            return True
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    @staticmethod
    def _holder(fd: int) -> str:
        try:
            text = os.pread(fd, 200, 0).decode("utf-8", "replace").strip()
        except OSError:
            text = ""
        return text or "its PID not yet written"

    def release(self) -> None:
        """Remove the lock file, then let go of it (in that order: see `acquire`)."""
        if self._fd is None:
            return
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
        os.close(self._fd)
        self._fd = None

    def __enter__(self) -> FolderLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


# ------------------------------------------------------------------ what is there


def check_ours(folder: Path, kind: str) -> None:
    """Raise NotOurFolderError unless `folder` is a result folder of this program and `kind`
    (its manifest.json says so) or an empty folder: what `--force` may replace."""
    hint = "--force replaces only result folders this program wrote; move it away yourself"
    if folder.is_symlink():
        raise NotOurFolderError(f"{folder} is a symbolic link, not a result folder; {hint}")
    if not folder.is_dir():
        raise NotOurFolderError(f"{folder} is not a folder; {hint}")
    if not any(folder.iterdir()):
        return  # empty: nothing to lose
    manifest = folder / "manifest.json"
    if manifest.is_symlink() or not manifest.is_file():
        raise NotOurFolderError(f"{folder} has no manifest.json: not a result folder; {hint}")
    try:
        with manifest.open("rb") as fh:
            data: Any = json.loads(fh.read(1 << 20))
    except (OSError, ValueError) as exc:
        raise NotOurFolderError(f"{manifest} cannot be read ({exc}); {hint}") from None
    if not isinstance(data, dict) or data.get("program") != PROGRAM:
        raise NotOurFolderError(f"{folder} was not written by {PROGRAM}; {hint}")
    if data.get("kind") != kind:
        raise NotOurFolderError(
            f"{folder} holds a {data.get('kind')} result, not a {kind} one; not replaced"
        )


def check_free(folder: Path, kind: str, force: bool) -> None:
    """Raise unless `folder` is absent, or `force` and `check_ours` allow replacing it."""
    if not os.path.lexists(folder):
        return
    if not force:
        raise ResultsExistError(
            f"{folder} exists already; pass --force to replace it, or --out elsewhere"
        )
    check_ours(folder, kind)


def recover(folder: Path) -> None:
    """Put back an old folder a killed `--force` left aside (two-rename fallback only), and
    drop those whose replacement is in place. Call with the folder's lock held."""
    prefix = f".{folder.name}."
    aside = []
    for entry in folder.parent.iterdir():
        name = entry.name
        if not name.startswith(prefix):
            continue
        match = _ENTRY.match(name)
        if match and match["name"] == folder.name and match["what"] == "old":
            if writer_gone(match["tag"]):
                aside.append(entry)
        elif re.fullmatch(re.escape(prefix) + r"old-(\d+)", name):  # an earlier version's
            if not pid_alive(int(name.rsplit("-", 1)[1])):
                aside.append(entry)
    if not aside:
        return
    aside.sort(key=lambda p: p.stat(follow_symlinks=False).st_mtime)
    if not os.path.lexists(folder):
        os.rename(aside.pop(), folder)
    for entry in aside:
        remove(entry)


def clean_stale(parent: Path, now: float | None = None) -> list[Path]:
    """Remove temporaries in `parent` whose writer on this host is gone, or older than
    `STALE_DAYS` days; and an earlier version's: with a PID, when it is gone; without, older
    than `OLD_FORMAT_STALE_HOURS`. Returns what was removed. (A kept-aside old folder, `.old`,
    is `recover`'s business.)"""
    now = time.time() if now is None else now
    removed: list[Path] = []
    try:
        entries = list(os.scandir(parent))
    except FileNotFoundError:
        return removed
    for entry in entries:
        if not entry.name.startswith(".") or not entry.name.endswith(".tmp"):
            continue
        try:
            age = now - entry.stat(follow_symlinks=False).st_mtime
        except FileNotFoundError:
            continue
        match = _ENTRY.match(entry.name)
        old_pid = _OLD_PID_TMP.match(entry.name)
        if match:
            stale = writer_gone(match["tag"]) or age > STALE_DAYS * 86400
        elif old_pid:
            stale = not pid_alive(int(old_pid["pid"])) or age > STALE_DAYS * 86400
        else:
            stale = bool(_OLD_TMP.match(entry.name)) and age > OLD_FORMAT_STALE_HOURS * 3600
        if stale:
            with contextlib.suppress(OSError):  # another cleaner got there first
                remove(Path(entry.path))
                removed.append(Path(entry.path))
    return removed


# ------------------------------------------------------------------ renames


_AT_FDCWD = -100
RENAME_NOREPLACE, RENAME_EXCHANGE = 1, 2
_renameat2: Any = None


def _libc_renameat2() -> Any:
    global _renameat2
    if _renameat2 is None:
        try:
            function = ctypes.CDLL(None, use_errno=True).renameat2
            function.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p]
            function.argtypes += [ctypes.c_uint]
            function.restype = ctypes.c_int
            _renameat2 = function
        except (AttributeError, OSError):
            _renameat2 = False
    return _renameat2


def rename2(source: Path, target: Path, flags: int) -> bool:
    """`renameat2(source, target, flags)`; False where the system or filesystem lacks it."""
    function = _libc_renameat2()
    if not function:
        return False
    if function(_AT_FDCWD, os.fsencode(source), _AT_FDCWD, os.fsencode(target), flags) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(source), None, str(target))


def sync_folder(folder: Path) -> None:
    """Flush a folder's entries to disk (after files were created or renamed in it)."""
    with contextlib.suppress(OSError):  # not every filesystem can
        fd = os.open(folder, os.O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def put_in_place(tmp: Path, folder: Path) -> None:
    """Rename the complete folder `tmp` to `folder`: exclusively when `folder` is absent;
    swapped with it when present (it was checked with `check_free`; its old content is then at
    `tmp`, for the caller to remove). Call with the folder's lock held."""
    if not os.path.lexists(folder):
        try:
            if not rename2(tmp, folder, RENAME_NOREPLACE):
                os.rename(tmp, folder)  # under the lock: no writer of ours can race us
        except OSError as exc:
            if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                raise
            raise FolderBusyError(
                f"{folder} appeared while this run wrote it; kept that one, nothing replaced"
            ) from None
    elif not rename2(tmp, folder, RENAME_EXCHANGE):
        aside = folder.with_name(f".{folder.name}.{writer_tag()}.old")
        os.rename(folder, aside)
        os.rename(tmp, folder)  # a kill between the two: `recover` puts `aside` back
        os.rename(aside, tmp)
    sync_folder(folder.parent)


# ------------------------------------------------------------------ writing a folder


class Staging:
    """One result folder being written under `out`: claimed (its lock held), written into a
    hidden temporary beside it, put in place by `commit`. Used as a context manager, which
    removes the temporary and releases the lock however the block ends.

        with Staging(out, "run", force=force) as staging:
            staging.claim(folder)            # before the work: refuse early, hold it
            tmp = staging.temporary(folder)
            ...write files into tmp...
            staging.commit(folder)
    """

    def __init__(self, out: str | Path, kind: str, *, force: bool = False):
        self.out = Path(out)
        self.kind = kind
        self.force = force
        self.folder: Path | None = None
        self.tmp: Path | None = None
        self._lock: FolderLock | None = None

    def claim(self, folder: Path) -> None:
        """Lock `folder`, put back or clean what killed writers left, and check it may be
        written (absent, or ours to replace with `force`)."""
        if self.folder is not None:
            if self.folder == folder:
                return
            raise ValueError(f"{self.folder} is claimed already, not {folder}")
        folder = checked_folder(self.out, folder)
        lock = FolderLock(folder).acquire()
        try:
            recover(folder)
            clean_stale(folder.parent)
            check_free(folder, self.kind, self.force)
        except BaseException:
            lock.release()
            raise
        self.folder, self._lock = folder, lock

    def temporary(self, folder: Path) -> Path:
        """A new hidden temporary folder beside `folder` (which need not be claimed yet: a
        run to a target precision learns its folder's name at the end)."""
        if self.tmp is not None:
            return self.tmp
        folder = checked_folder(self.out, folder)
        tmp = folder.with_name(f".{folder.name}.{writer_tag()}.tmp")
        tmp.mkdir(mode=0o700)
        self.tmp = tmp
        return tmp

    def commit(self, folder: Path) -> Path:
        """Put the temporary in place as `folder` (claiming it first if need be)."""
        assert self.tmp is not None, "nothing written"
        self.claim(folder)
        assert self.folder is not None
        check_free(self.folder, self.kind, self.force)
        sync_folder(self.tmp)
        put_in_place(self.tmp, self.folder)
        if os.path.lexists(self.tmp):  # the folder it replaced
            remove(self.tmp)
        self.tmp = None
        return self.folder

    def __enter__(self) -> Staging:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            if self.tmp is not None:
                remove(self.tmp)
                self.tmp = None
        finally:
            if self._lock is not None:
                self._lock.release()
                self._lock = None


# ------------------------------------------------------------------ single files


def create(path: str | Path, flags: int) -> int:
    """An `opener` for `open()`: create a new file, never through a symbolic link."""
    return os.open(path, flags | os.O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o666)


def write_file(folder: Path, name: str, data: bytes, *, sync: bool = False) -> Path:
    """Write `folder/name` whole: into a new temporary beside it (created exclusively, never
    through a symbolic link), then renamed over `name`. A symbolic link at `name` is replaced,
    not followed; `name` must be a plain file name, so the file lies inside `folder`."""
    if name in ("", ".", "..") or "/" in name or os.sep in name:
        raise ValueError(f"{name!r} is not a plain file name")
    tmp = f".{name}.{writer_tag()}.tmp"
    dir_fd = os.open(folder, os.O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o666,
                     dir_fd=dir_fd)  # fmt: skip
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                if sync:
                    fh.flush()
                    os.fsync(fh.fileno())
            os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp, dir_fd=dir_fd)
            raise
        if sync:
            os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return folder / name
