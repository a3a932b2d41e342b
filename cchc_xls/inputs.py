"""Collecting the inputs: files, folders and nested zip archives -> Items, in a stable order.

Each Item is one input as the user gave it (a file, or a member of a zip). Its bytes are copied
(or extracted) once into a private staging folder, hashed on the way, and everything after reads
that copy: a file that changes or disappears while the harvest runs cannot make the bytes
checked differ from the bytes kept in received/. Inputs that are not read (temporary, hidden,
links, over a budget, not a spreadsheet, damaged archive members) carry the finding that says
why; every budget (limits.py) is checked before the work it bounds.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import struct
import zipfile
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from cchc_xls.findings import Finding, make
from cchc_xls.limits import ARCHIVE_RATIO_FROM_BYTES, DEFAULT_LIMITS, RATIO_FROM_BYTES, Limits, megabytes
from cchc_xls.mail import MAIL_SUFFIXES, MAX_MAILBOX_BYTES, Attachment, Message, expand_mail
from cchc_xls.outputs import display_path, safe_text
from cchc_xls.workbook import SPREADSHEET_SUFFIXES as WORKBOOK_SUFFIXES

SPREADSHEET_SUFFIXES = WORKBOOK_SUFFIXES  # one list: workbook.py reads exactly these formats
# Files that come with a return (a signed scan, a photo, a covering letter): attachments of the
# commune they came with (assign.py), never a rejected return.
ATTACHMENT_SUFFIXES = {
    ".pdf": "tệp PDF", ".doc": "tệp Word", ".docx": "tệp Word", ".odt": "tệp văn bản",
    ".jpg": "ảnh chụp", ".jpeg": "ảnh chụp", ".png": "ảnh chụp", ".heic": "ảnh chụp",
}
# What zipfile can inflate; anything else is named in the member's finding.
ZIP_METHODS = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}
METHOD_NAMES = {9: "kiểu nén Deflate64", 99: "mã hóa AES", 6: "kiểu nén Implode", 98: "kiểu nén PPMd",
                93: "kiểu nén Zstandard", 95: "kiểu nén XZ"}
_COPY_BLOCK = 1024 * 1024
# A directory entry is 46 bytes plus its name and extra fields (real ones: 100 to 400 bytes); a directory
# far larger than its declared count allows is refused before zipfile parses it entry by entry.
DIRECTORY_BYTES_PER_MEMBER = 1024


@dataclass
class Item:
    """One input as the user gave it (a file, or a member of a zip)."""

    display: str  # as the user recognises it: "inbox/Zalo.zip › Phu luc CCHC (1).xlsx"
    source: Path  # where the bytes are: the staged copy (or, when not staged, the original)
    name: str  # original base name (safe to print)
    skip: Finding | None = None
    mtime: float = 0.0
    sha256: str = ""  # of the staged copy; empty when the bytes were never read
    size: int = 0
    notes: list[Finding] = field(default_factory=list)  # findings besides the skip (names, dates)
    sender: str = ""  # the From of the e-mail it came with
    received_at: datetime | None = None  # the e-mail's date, else the time of the file that arrived
    group: str = ""  # the message, zip or folder it came in: files that came together
    attachment: bool = False  # a PDF, photo or Word file: kept and listed, not read


def collect_inputs(inputs: list[Path], staging: Path, limits: Limits = DEFAULT_LIMITS,
                   exclude: set[str] = frozenset()) -> list[Item]:
    """Expand folders (recursively, links not followed) and zip archives (nested) into items.

    `exclude` holds real paths (os.path.realpath) never collected: the harvest's own outputs."""
    collector = _Collector(Path(staging), limits, set(exclude))
    for path in inputs:
        collector.add_input(Path(path))
    return collector.items


def unexpected(display: str, exc: BaseException) -> Finding:
    """The finding for an error nobody foresaw while one input was handled; the batch goes on."""
    if isinstance(exc, (KeyboardInterrupt, SystemExit)):
        raise exc
    text = " ".join(str(exc).split())[:100]
    detail = f"{type(exc).__name__}: {safe_text(text, one_line=True)}" if text else type(exc).__name__
    return make("file.unreadable", file=display, detail=detail)


class _Collector:
    def __init__(self, staging: Path, limits: Limits, exclude: set[str]):
        self.staging = staging
        self.limits = limits
        self.exclude = exclude
        self.items: list[Item] = []
        self.staged_bytes = 0
        self.full = False  # the run's file budget is spent

    # -- files and folders as the OS lists them

    def add_input(self, path: Path) -> None:
        try:
            self._add_input(path)
        except BaseException as exc:  # noqa: B036 - the last line: one input never stops the batch
            display = display_path(path)
            self._append(Item(display, path, display_path(path.name), unexpected(display, exc)))

    def _add_input(self, path: Path) -> None:
        if os.path.realpath(path) in self.exclude:
            return
        display = display_path(path)
        try:
            info = path.stat()  # a path the user named is followed even if it is a link
        except OSError as exc:
            self._append(Item(display, path, display_path(path.name), make("file.vanished", file=display,
                                                                          reason=_reason(exc))))
            return
        if stat.S_ISDIR(info.st_mode):
            self._walk(path, hidden=False)
        elif stat.S_ISREG(info.st_mode):
            self._add_file(path, display, info)
        else:
            self._not_regular(path, display, info)

    def _walk(self, folder: Path, hidden: bool) -> None:
        try:
            with os.scandir(folder) as listing:
                entries = sorted(listing, key=lambda e: e.name)
        except OSError as exc:
            display = display_path(folder)
            self._append(Item(display, folder, display_path(folder.name),
                              make("file.vanished", file=display, reason=_reason(exc))))
            return
        for entry in entries:
            if self.full:
                return
            path = Path(entry.path)
            if os.path.realpath(path) in self.exclude:
                continue
            display = display_path(path)
            name = display_path(entry.name)
            try:
                if entry.is_symlink() or _is_junction(entry):
                    self._append(Item(display, path, name, make("file.link", file=display, target=_link_target(path))))
                elif entry.is_dir(follow_symlinks=False):
                    self._walk(path, hidden or entry.name.startswith("."))
                elif entry.is_file(follow_symlinks=False):
                    info = entry.stat(follow_symlinks=False)
                    if hidden:
                        self._stage(Item(display, path, name, make("file.skipped_hidden", file=display),
                                         mtime=info.st_mtime), path, info.st_size, self.limits.file_bytes)
                    else:
                        self._add_file(path, display, info)
                else:
                    self._not_regular(path, display, entry.stat(follow_symlinks=False))
            except OSError as exc:
                self._append(Item(display, path, name, make("file.vanished", file=display, reason=_reason(exc))))
            except BaseException as exc:  # noqa: B036 - one entry never stops the folder
                self._append(Item(display, path, name, unexpected(display, exc)))

    def _not_regular(self, path: Path, display: str, info: os.stat_result) -> None:
        mode = info.st_mode
        what = ("ống dẫn FIFO" if stat.S_ISFIFO(mode) else "socket" if stat.S_ISSOCK(mode)
                else "thiết bị" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "loại đặc biệt")
        name = display_path(path.name)
        self._append(Item(display, path, name, make("file.not_regular", file=display, name=name, what=what)))

    def _add_file(self, path: Path, display: str, info: os.stat_result) -> None:
        name = display_path(path.name)
        item = Item(display, path, name, mtime=info.st_mtime, group=str(path.parent), received_at=_file_time(info.st_mtime))
        limit = self._size_limit(path.name)
        if info.st_size > limit:  # from the directory entry: the file is never opened
            item.skip = make("file.too_large", file=display, size=megabytes(info.st_size))
            self._append(item)
            return
        if not self._stage(item, path, info.st_size, limit, before=info):
            return
        self._classify(item, depth=0)

    def _size_limit(self, name: str) -> int:
        suffix = Path(name).suffix.lower()
        if suffix in SPREADSHEET_SUFFIXES:
            return self.limits.spreadsheet_bytes
        if suffix == ".zip":
            return self.limits.archive_bytes
        if suffix == ".mbox":  # a whole mailbox; mail.py bounds each message and the attachments
            return MAX_MAILBOX_BYTES
        return self.limits.file_bytes

    # -- staging: one copy of the bytes, hashed on the way, within the budgets

    def _append(self, item: Item) -> bool:
        if len(self.items) >= self.limits.run_files:
            if not self.full:
                self.full = True
                self.items.append(Item(item.display, item.source, item.name, make(
                    "file.run_budget", file=item.display, limit=f"{self.limits.run_files:,} tệp".replace(",", "."),
                    what="tệp này và các tệp sau nó không được liệt kê")))
            return False
        self.items.append(item)
        return True

    def _reserve(self, item: Item, size: int) -> Path | None:
        """List the item and give it a staging path, if `size` more bytes fit the run's budget;
        None (the item listed with its finding) otherwise."""
        if self.staged_bytes + size > self.limits.run_bytes:
            item.skip = make("file.run_budget", file=item.display, limit=f"{megabytes(self.limits.run_bytes)} MB",
                             what="tổng dung lượng các tệp đã đọc")
            self._append(item)
            return None
        if not self._append(item):
            return None
        return self.staging / f"{len(self.items):06d}{_suffix(item.name)}"

    def _stage(self, item: Item, source: Path, size: int, limit: int, before: os.stat_result | None = None) -> bool:
        """Copy source into staging (at most `limit` bytes); set item.source, sha256, size."""
        target = self._reserve(item, size)
        if target is None:
            return False
        try:
            with open(source, "rb") as src, open(target, "wb") as dst:
                written, digest = _copy_hashed(src, dst, limit)  # more than limit: it grew after it was listed
                after = os.fstat(src.fileno())
        except OSError as exc:
            target.unlink(missing_ok=True)
            item.skip = make("file.vanished", file=item.display, reason=_reason(exc))
            return False
        self.staged_bytes += min(written, limit)
        if written > limit:
            target.unlink(missing_ok=True)
            item.skip = make("file.too_large", file=item.display, size=megabytes(written))
            return False
        if before is not None and (after.st_size != before.st_size or after.st_mtime_ns != before.st_mtime_ns
                                   or written != before.st_size):
            target.unlink(missing_ok=True)
            item.skip = make("file.changed", file=item.display)
            return False
        item.source, item.sha256, item.size = target, digest, written
        return True

    def _classify(self, item: Item, depth: int) -> None:
        """Decide what a staged item is: a spreadsheet to read, an archive to open, or a skip."""
        name, display = item.name, item.display
        suffix = Path(name).suffix.lower()
        if name.startswith("~$"):
            item.skip = make("file.skipped_temp", file=display)
        elif name.startswith("."):
            item.skip = make("file.skipped_hidden", file=display)
        elif suffix in MAIL_SUFFIXES:
            try:
                item.skip = self._expand_mail(item, depth + 1)  # listed (and kept) itself; attachments follow
            except BaseException as exc:  # noqa: B036 - a crafted message costs that message only
                item.skip = unexpected(display, exc)
        elif suffix == ".zip":
            first = len(self.items)
            try:
                item.skip = self._expand_zip(item, depth + 1)  # listed (and kept) itself; its members follow
            except BaseException as exc:  # noqa: B036 - a crafted archive costs that archive only
                item.skip = unexpected(display, exc)
            if item.skip is None and item.size > self.limits.spreadsheet_bytes:
                item.skip = make("file.too_large", file=display, size=megabytes(item.size))
            _came_together(self.items[first:], item)
        elif suffix in ATTACHMENT_SUFFIXES:
            item.attachment = True
        elif suffix not in SPREADSHEET_SUFFIXES:
            item.skip = make("file.skipped_type", file=display, name=name)
        elif item.size > self.limits.spreadsheet_bytes:
            item.skip = make("file.too_large", file=display, size=megabytes(item.size))

    # -- e-mail files: each attachment staged and classified like a zip member

    def _expand_mail(self, mail: Item, depth: int) -> Finding:
        """Add the attachments of a staged .eml/.mbox; the e-mail file's own finding."""
        if depth > self.limits.zip_depth:  # a message attached to a message …: 8bit parts do not grow
            return make("mail.too_deep", file=mail.display, depth=self.limits.zip_depth)

        def add(label: str, message: Message, attachment: Attachment) -> None:
            if not self.full:
                self._add_attachment(mail, label, message, attachment, depth)

        return expand_mail(mail.source, mail.display, add)

    def _add_attachment(self, mail: Item, label: str, message: Message, attachment: Attachment, depth: int) -> None:
        display = f"{label} › {attachment.name}"
        # a message without a readable Date arrived, at the latest, when its e-mail file did
        item = Item(display, mail.source, attachment.name, mtime=mail.mtime, sender=message.sender,
                    received_at=message.date or mail.received_at, group=label)
        size = len(attachment.data)
        if size > self._size_limit(attachment.name):
            item.skip = make("file.too_large", file=display, size=megabytes(size))
            self._append(item)
            return
        if self.staged_bytes + size > self.limits.run_bytes:
            item.skip = make("file.run_budget", file=display, limit=f"{megabytes(self.limits.run_bytes)} MB",
                             what="tổng dung lượng các tệp đã đọc")
            self._append(item)
            return
        if not self._append(item):
            return
        target = self.staging / f"{len(self.items):06d}{_suffix(item.name)}"  # never the sender's name
        target.write_bytes(attachment.data)
        self.staged_bytes += size
        item.source, item.sha256, item.size = target, hashlib.sha256(attachment.data).hexdigest(), size
        first = len(self.items)
        self._classify(item, depth)
        for added in self.items[first:]:  # a zip attached to the message: its members came with it
            added.group = label
            if not added.sender:
                added.sender, added.received_at = item.sender, item.received_at

    # -- zip archives

    def _expand_zip(self, archive: Item, depth: int) -> Finding | None:
        """Add the members of a staged zip; the archive's own finding (None: a renamed workbook)."""
        display, limits = archive.display, self.limits
        declared, directory = _declared_entries(archive.source)
        if declared > limits.archive_members:
            return make("file.zip_bomb", file=display,
                        reason=f"{declared:,} tệp bên trong, tối đa {limits.archive_members:,}".replace(",", "."))
        if directory > limits.archive_members * DIRECTORY_BYTES_PER_MEMBER:  # a count that lies
            return make("file.zip_bomb", file=display, reason=f"mục lục {megabytes(directory)} MB")
        if _is_workbook_zip(archive.source):
            return None  # a workbook renamed .zip is still a workbook: read it
        if depth > limits.zip_depth:
            return make("file.archive_too_deep", file=display, depth=limits.zip_depth)
        first = len(self.items)
        try:
            zf, repaired = _open_zip(archive.source, self.staging / f"{first:06d}-repaired.zip")
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError, NotImplementedError,
                UnicodeDecodeError, struct.error) as exc:
            return make("file.archive_damaged", file=display, reason=_reason(exc))
        with zf:
            infos = [info for info in zf.infolist() if not info.is_dir()]
            refused = _refuse_archive(infos, limits)
            if refused:
                return make("file.zip_bomb", file=display, reason=refused)
            for info in infos:
                if self.full:
                    break
                before = len(self.items)
                try:
                    self._add_member(zf, info, archive, depth, repaired)
                except BaseException as exc:  # noqa: B036 - one member never stops the archive
                    shown = f"{display} › {safe_text(info.filename, one_line=True)}"
                    if len(self.items) > before:  # listed already: it keeps its place, with this finding
                        self.items[before].skip = unexpected(self.items[before].display, exc)
                    else:
                        self._append(Item(shown, archive.source, safe_text(info.filename, one_line=True),
                                          unexpected(shown, exc)))
        return make("file.archive", file=display, count=len(self.items) - first)

    def _add_member(self, zf: zipfile.ZipFile, info: zipfile.ZipInfo, archive: Item, depth: int,
                    repaired: dict[str, str]) -> None:
        raw_name = info.filename
        notes = []
        if repaired.get(raw_name) == "name":
            member_name = raw_name.encode("cp437").decode("utf-8", errors="replace")
            notes.append("file.member_name")
        else:
            member_name = _member_name(info)
        member_name = safe_text(member_name, one_line=True)
        display = f"{archive.display} › {member_name}"
        base = member_name.replace("\\", "/").rsplit("/", 1)[-1] or member_name
        mtime = _member_time(info)
        if mtime is None:
            mtime = archive.mtime
            notes.append("file.member_date")
        item = Item(display, archive.source, base, mtime=mtime, notes=[make(code, file=display) for code in notes])
        if info.flag_bits & 0x1:
            method = METHOD_NAMES[99] if info.compress_type == 99 else "mật khẩu zip"
            item.skip = make("file.member_encrypted", file=display, method=method)
        elif repaired.get(raw_name, "").startswith("version"):
            item.skip = make("file.member_unsupported", file=display,
                             method=f"định dạng zip phiên bản {repaired[raw_name].split()[1]}")
        elif info.compress_type not in ZIP_METHODS:
            item.skip = make("file.member_unsupported", file=display,
                             method=METHOD_NAMES.get(info.compress_type, f"kiểu nén số {info.compress_type}"))
        elif any(part.startswith(".") or part == "__MACOSX" for part in member_name.split("/")):
            item.skip = make("file.skipped_hidden", file=display)
        elif info.file_size > self._size_limit(base):
            item.skip = make("file.too_large", file=display, size=megabytes(info.file_size))
        if item.skip is not None and item.skip.code != "file.skipped_hidden":
            self._append(item)
            return
        if not self._extract(zf, info, item):
            return
        if item.skip is None:
            self._classify(item, depth)

    def _extract(self, zf: zipfile.ZipFile, info: zipfile.ZipInfo, item: Item) -> bool:
        target = self._reserve(item, info.file_size)
        if target is None:
            return False
        written = 0
        try:
            with zf.open(info) as src, open(target, "wb") as dst:
                # zipfile stops at the declared size; the count is a second guard
                written, digest = _copy_hashed(src, dst, info.file_size)
            if written > info.file_size:
                raise zipfile.BadZipFile("dữ liệu dài hơn kích thước khai báo")
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError, RuntimeError,
                zlib.error, LookupError) as exc:
            if not written and target.exists():  # failed mid-copy: what reached the disk still counts
                written = target.stat().st_size
            target.unlink(missing_ok=True)
            item.skip = make("file.member_damaged", file=item.display, reason=_reason(exc))
            self.staged_bytes += written
            return False
        self.staged_bytes += written
        item.source, item.sha256, item.size = target, digest, written
        return True


def _copy_hashed(src, dst, limit: int) -> tuple[int, str]:
    """Copy blocks from src to dst while hashing them; stop at the first block that passes
    `limit` (not written). Returns the bytes read (more than limit when it stopped early) and the
    SHA-256 of what was written."""
    digest = hashlib.sha256()
    written = 0
    while True:
        block = src.read(_COPY_BLOCK)
        if not block:
            break
        written += len(block)
        if written > limit:
            break
        digest.update(block)
        dst.write(block)
    return written, digest.hexdigest()


def _file_time(mtime: float) -> datetime | None:
    """A file's time as an aware datetime; None for one no clock can show (it never stops the batch)."""
    try:
        return datetime.fromtimestamp(mtime, timezone.utc) if mtime else None
    except (OverflowError, ValueError, OSError):
        return None


def _came_together(members: list[Item], container: Item) -> None:
    """Members of a zip or a message arrived with it: its group, its time (unless they came in a
    message of their own, whose date they keep)."""
    for member in members:
        member.group = container.display
        if not member.sender:
            member.received_at = container.received_at
            member.sender = container.sender


def _refuse_archive(infos: list[zipfile.ZipInfo], limits: Limits) -> str | None:
    """Why the declared sizes make this archive a bomb (totals and ratios, not one big scan)."""
    total = packed = 0
    for info in infos:
        total += info.file_size
        packed += info.compress_size
        if total > limits.archive_bytes:
            return f"các tệp bên trong bung ra hơn {megabytes(limits.archive_bytes)} MB"
        if info.file_size > RATIO_FROM_BYTES and info.file_size > limits.member_ratio * max(info.compress_size, 1):
            return (f"tệp {safe_text(info.filename, one_line=True)[:80]} nén {megabytes(info.compress_size)} MB "
                    f"bung ra {megabytes(info.file_size)} MB")
    # many members each just under the ratio's threshold: the archive as a whole is judged too
    if total > ARCHIVE_RATIO_FROM_BYTES and total > limits.member_ratio * max(packed, 1):
        return f"{len(infos)} tệp nén {megabytes(packed)} MB bung ra {megabytes(total)} MB"
    return None


def _end_record(handle) -> tuple[int, bytes, int] | None:
    """(file size, the file's last 64 KiB + 21 bytes, offset of the end-of-directory record in
    them), or None when the zip has no complete end record."""
    size = handle.seek(0, os.SEEK_END)
    handle.seek(max(0, size - 65557))  # the record (22 bytes) and a comment of up to 65,535
    tail = handle.read()
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) < at + 22:
        return None
    return size, tail, at


def _declared_entries(path: Path) -> tuple[int, int]:
    """(entry count, directory size) from the zip's end record, read before the directory itself
    is parsed; (0, 0) when there is no end record (zipfile then says the archive is damaged)."""
    try:
        with open(path, "rb") as handle:
            found = _end_record(handle)
            if found is None:
                return 0, 0
            _, tail, at = found
            entries, directory = struct.unpack("<HI", tail[at + 10:at + 16])
            locator = at - 20
            if (entries == 0xFFFF or directory == 0xFFFFFFFF) and locator >= 0 \
                    and tail[locator:locator + 4] == b"PK\x06\x07":
                handle.seek(struct.unpack("<Q", tail[locator + 8:locator + 16])[0])
                record = handle.read(56)
                if record[:4] == b"PK\x06\x06" and len(record) == 56:
                    entries, directory = struct.unpack("<QQ", record[32:48])
            return entries, directory
    except (OSError, struct.error, ValueError):
        return 0, 0


def _open_zip(path: Path, repaired_path: Path) -> tuple[zipfile.ZipFile, dict[str, str]]:
    """Open a zip; if zipfile refuses its directory for a name that is not UTF-8 or a "version
    needed" it does not know, open a copy with those fields neutralised and say which members."""
    try:
        return zipfile.ZipFile(path), {}
    except (UnicodeDecodeError, NotImplementedError):
        pass
    repaired = _repair_directory(path, repaired_path)
    return zipfile.ZipFile(repaired_path), repaired


MAX_DIRECTORY_BYTES = 64 * 1024 * 1024


def _repair_directory(path: Path, target: Path) -> dict[str, str]:
    """Copy the zip, clearing the UTF-8 flag of names that are not UTF-8 and capping the version
    needed at 2.0; {member name as zipfile will decode it: "name" | "version X.Y" (the original)}.

    Only the directory and the local headers' flags are touched: the copy is patched in place."""
    shutil.copyfile(path, target)
    with open(target, "r+b") as handle:
        found = _end_record(handle)
        if found is None:
            raise zipfile.BadZipFile("không thấy mục lục của tệp nén")
        size, tail, at = found
        count, cd_size, cd_offset = struct.unpack("<HII", tail[at + 10:at + 20])
        end = size - len(tail) + at
        start = end - cd_size
        if cd_size > MAX_DIRECTORY_BYTES or start < 0:
            raise zipfile.BadZipFile("mục lục của tệp nén bị hỏng")
        shift = start - cd_offset  # data prepended to the archive (self-extracting zips)
        handle.seek(start)
        directory = bytearray(handle.read(cd_size))
        repaired: dict[str, str] = {}
        position = 0
        for _ in range(count):
            if directory[position:position + 4] != b"PK\x01\x02":
                raise zipfile.BadZipFile("mục lục của tệp nén bị hỏng")
            version, flags = struct.unpack("<HH", directory[position + 6:position + 10])
            name_len, extra_len, comment_len = struct.unpack("<HHH", directory[position + 28:position + 34])
            local = struct.unpack("<I", directory[position + 42:position + 46])[0] + shift
            name = bytes(directory[position + 46:position + 46 + name_len])
            key = None
            if flags & 0x800:
                try:
                    name.decode("utf-8")
                except UnicodeDecodeError:
                    flags &= ~0x800
                    struct.pack_into("<H", directory, position + 8, flags)
                    handle.seek(local)
                    header = handle.read(8)
                    if len(header) == 8 and header[:4] == b"PK\x03\x04":
                        handle.seek(local + 6)
                        handle.write(struct.pack("<H", struct.unpack("<H", header[6:8])[0] & ~0x800))
                    key = "name"
            if version > 63:  # zipfile's MAX_EXTRACT_VERSION: it refuses the whole archive otherwise
                struct.pack_into("<H", directory, position + 6, 20)
                key = f"version {version / 10:.1f}"
            if key:
                decoded = name.decode("utf-8") if flags & 0x800 else name.decode("cp437")
                repaired[decoded] = key
            position += 46 + name_len + extra_len + comment_len
        handle.seek(start)
        handle.write(directory)
    return repaired


def _is_workbook_zip(path: Path) -> bool:
    """A workbook renamed .zip is still a workbook."""
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError, UnicodeDecodeError, EOFError):
        return False
    return "xl/workbook.xml" in names or "xl/workbook.bin" in names or "mimetype" in names and "content.xml" in names


def _member_name(info: zipfile.ZipInfo) -> str:
    """Zip member names from Windows tools are often cp437-mangled Vietnamese; repair when possible."""
    name = info.filename
    if not info.flag_bits & 0x800:
        try:
            name = name.encode("cp437").decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            pass
    return name


def _member_time(info: zipfile.ZipInfo) -> float | None:
    """The member's saved time; None for a DOS date of 0 or any other impossible date."""
    try:
        return datetime(*info.date_time).timestamp()
    except (ValueError, OverflowError, OSError):
        return None


def _is_junction(entry: os.DirEntry) -> bool:
    """A Windows directory junction: a link too, though not a symbolic one (Python 3.12+ tells)."""
    check = getattr(entry, "is_junction", None)
    return bool(check and check())


def _link_target(path: Path) -> str:
    try:
        return display_path(os.readlink(path))
    except OSError:
        return "không rõ"


def _suffix(name: str) -> str:
    suffix = Path(name).suffix.lower()
    return suffix if len(suffix) <= 8 and suffix[1:].isalnum() else ""


def _reason(exc: BaseException) -> str:
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return safe_text(" ".join(str(text).split()), one_line=True)[:120]


def safe_name(name: str) -> str:
    """A file name safe on every file system, from a member or file name (its base only).

    Kept under 120 bytes in UTF-8 (file systems allow 255 bytes; Vietnamese letters take 2 to 3),
    keeping the extension."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    # no trailing dot or space: Windows cannot create such a name
    cleaned = "".join(c if (c.isalnum() or c in "._- ()") and c.isprintable() and not 0xD800 <= ord(c) <= 0xDFFF
                      else "_" for c in base).rstrip(". ") or "tep"
    if len(cleaned.encode("utf-8")) <= 120:
        return cleaned
    stem, dot, suffix = cleaned.rpartition(".")
    if not dot or len(suffix) > 8:
        stem, suffix = cleaned, ""
    tail = f".{suffix}" if suffix else ""
    budget = 120 - len(tail.encode("utf-8"))
    kept = stem.encode("utf-8")[:budget].decode("utf-8", errors="ignore").rstrip(". ")
    return (kept or "tep") + tail
