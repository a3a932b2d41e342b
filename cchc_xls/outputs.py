"""Every output is written whole or not at all: to NAME.part first, then renamed into place."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import socket
import time
from pathlib import Path

from cchc_xls.errors import OutputError


def partial_path(path: Path) -> Path:
    """Where `path` is written before it is complete."""
    return path.with_name(path.name + ".part")


def write_atomic(path: Path, writer) -> Path:
    """Call writer(partial_path), then move the finished file into place (or remove the part)."""
    partial = partial_path(path)
    try:
        writer(partial)
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return path


def write_text_atomic(path: Path, text: str, encoding: str = "utf-8") -> Path:
    return write_atomic(path, lambda partial: partial.write_text(text, encoding=encoding))


HISTORY = "lich-su"  # earlier results of a reused output folder, one subfolder per earlier run


def keep_earlier(out_dir: Path, names) -> Path | None:
    """Before new results replace them, keep the earlier ones of `names` found in out_dir in
    `lich-su/<their time>/` inside that folder (linked, else copied): a reused folder never loses
    results silently, and out_dir itself always holds one whole set. Returns the folder, or None
    when there was nothing earlier."""
    from datetime import datetime

    earlier = [out_dir / name for name in names if (out_dir / name).is_file()]
    if not earlier:
        return None
    made = max(path.stat().st_mtime for path in earlier)
    stamp = datetime.fromtimestamp(made).strftime("%Y-%m-%d_%H-%M-%S")
    target = out_dir / HISTORY / stamp
    number = 1
    while target.exists() and not all((target / p.name).is_file() and file_sha256(target / p.name) == file_sha256(p)
                                      for p in earlier):
        number += 1
        target = out_dir / HISTORY / f"{stamp}_{number}"
    target.mkdir(parents=True, exist_ok=True)
    for path in earlier:
        kept = target / path.name
        if kept.exists():
            continue
        try:
            os.link(path, kept)  # the new file replaces the name, the link keeps the old bytes
        except OSError:
            copy_atomic(path, kept)
    return target


def copy_atomic(source: Path, target: Path) -> Path:
    return write_atomic(target, lambda partial: shutil.copyfile(source, partial))


# Characters that must never reach an output: C0/C1 controls (XML 1.0 forbids most of them, and a
# newline in a name breaks a one-line cell or paragraph), lone surrogates (file names that were
# not valid UTF-8 come back from the OS as surrogate escapes), and the non-characters U+FFFE/FFFF.
_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_BREAKS = re.compile("[\t\n\r\x0b\x0c\x85\u2028\u2029]+")


def safe_text(value, *, one_line: bool = False) -> str:
    """Text that every output format can hold: controls and lone surrogates become U+FFFD.

    With `one_line`, line breaks and tabs become one space (names, paragraphs of a report)."""
    text = "" if value is None else str(value)
    if one_line:
        text = _BREAKS.sub(" ", text)
    return _UNSAFE.sub("\ufffd", text)


def display_path(path) -> str:
    """A path as a person reads it, even when the OS gave bytes that are not valid UTF-8."""
    text = os.fspath(path)
    if isinstance(text, bytes):
        text = os.fsdecode(text)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # surrogate escapes: show the bytes as the user's tools would
        text = os.fsencode(text).decode("utf-8", errors="replace")
    return safe_text(text, one_line=True)


def copy_verified(source: Path, target: Path, sha256: str, size: int) -> Path:
    """Copy source to target whole (via .part), unless target already holds exactly these bytes.

    A copy left truncated by an earlier run that was killed (or a full disk) is detected by its
    size or digest and written again."""
    if target.is_file() and target.stat().st_size == size and file_sha256(target) == sha256:
        return target
    return copy_atomic(source, target)


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, read in blocks (never whole)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(block)
    return digest.hexdigest()


# ---------------------------------------------------------------------------------------------
# One run at a time per output folder

LOCK_NAME = ".cchc-harvest.lock"


class FolderLock:
    """An exclusive lock file in an output folder, holding the pid and host of its owner.

    A lock left by a process that is no longer running on this machine is taken over."""

    def __init__(self, folder: Path):
        self.path = Path(folder) / LOCK_NAME
        self.owned = False

    def acquire(self) -> None:
        """Take the lock, or raise OutputError saying who holds it."""
        for _ in range(3):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                owner = self._owner()
                if owner is None:
                    continue
                if _is_stale(owner):
                    self.path.unlink(missing_ok=True)
                    continue
                pid, host = owner.get("pid", "?"), owner.get("host", "?")
                raise OutputError.of("output.folder_busy", path=display_path(self.path.parent), pid=pid, host=host,
                                     lock=LOCK_NAME) from None
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump({"pid": os.getpid(), "host": socket.gethostname(), "started": time.time()}, handle)
            self.owned = True
            return
        raise OutputError.of("output.lock_failed", path=display_path(self.path.parent))

    def release(self) -> None:
        """Remove the lock if this process holds it."""
        if self.owned:
            self.path.unlink(missing_ok=True)
            self.owned = False

    def __enter__(self):
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()

    def _owner(self) -> dict | None:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None  # released meanwhile: try again
        except (OSError, ValueError):
            data = None
        if not isinstance(data, dict):  # half-written by a run starting right now, or damaged
            try:
                return {"started": self.path.stat().st_mtime}
            except OSError:
                return None
        return data


STALE_UNREADABLE_LOCK_SECONDS = 60


def _is_stale(owner: dict) -> bool:
    pid, host = owner.get("pid"), owner.get("host")
    if not isinstance(pid, int):
        started = owner.get("started")
        return not isinstance(started, (int, float)) or time.time() - started > STALE_UNREADABLE_LOCK_SECONDS
    if host != socket.gethostname():
        return False  # another machine on a shared folder: we cannot tell, so we do not take it
    return not _pid_alive(pid)


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    if os.name == "nt":  # os.kill(pid, 0) would send CTRL_C_EVENT on Windows
        import ctypes

        kernel32 = ctypes.windll.kernel32
        handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return False
        code = ctypes.c_ulong()
        kernel32.GetExitCodeProcess(handle, ctypes.byref(code))
        kernel32.CloseHandle(handle)
        return code.value == 259  # STILL_ACTIVE
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
