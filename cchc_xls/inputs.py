"""Collecting the inputs: files, folders and nested zip archives -> Items, in a stable order.

Each Item is one input as the user gave it (a file, or a member of a zip extracted into a
staging folder); inputs that are not read (temporary, hidden, too large, not a spreadsheet)
carry the finding that says why.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cchc_xls.findings import Finding, make
from cchc_xls.workbook import WorkbookError, check_zip

SPREADSHEET_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".ods"}
SENT_INSTEAD = {
    ".pdf": "tệp PDF", ".doc": "tệp Word", ".docx": "tệp Word", ".odt": "tệp văn bản",
    ".jpg": "ảnh chụp", ".jpeg": "ảnh chụp", ".png": "ảnh chụp", ".heic": "ảnh chụp",
}
MAX_FILE_BYTES = 50 * 1024 * 1024
MAX_ZIP_DEPTH = 3


@dataclass
class Item:
    """One input as the user gave it (a file, or a member of a zip)."""

    display: str  # as the user recognises it: "inbox/Zalo.zip › Phu luc CCHC (1).xlsx"
    source: Path  # where the bytes are (the original, or an extracted copy in a temp folder)
    name: str  # original base name
    skip: Finding | None = None
    mtime: float = 0.0


def collect_inputs(inputs: list[Path], staging: Path) -> list[Item]:
    """Expand folders (recursively) and zip archives (nested) into items, in a stable order."""
    items: list[Item] = []
    for path in inputs:
        path = Path(path)
        if path.is_dir():
            for child in sorted(p for p in path.rglob("*") if p.is_file()):
                relative = child.relative_to(path)
                if any(part.startswith(".") for part in relative.parts[:-1]):
                    items.append(Item(str(child), child, child.name, make("file.skipped_hidden", file=str(child))))
                    continue
                _add_file(child, str(child), items, staging, depth=0)
        elif path.is_file():
            _add_file(path, str(path), items, staging, depth=0)
    return items


def _add_file(path: Path, display: str, items: list[Item], staging: Path, depth: int) -> None:
    name = path.name
    try:
        mtime = path.stat().st_mtime
        size = path.stat().st_size
    except OSError:
        mtime, size = 0.0, 0
    item = Item(display, path, name, mtime=mtime)
    suffix = path.suffix.lower()
    if name.startswith("~$"):
        item.skip = make("file.skipped_temp", file=display)
    elif name.startswith("."):
        item.skip = make("file.skipped_hidden", file=display)
    elif size > MAX_FILE_BYTES:
        item.skip = make("file.too_large", file=display, size=f"{size / 1024 / 1024:.0f}")
    elif suffix == ".zip" and not _is_workbook_zip(path):
        items.append(item)  # the archive itself is listed (and copied); its members follow
        item.skip = _expand_zip(path, display, items, staging, depth + 1)
        return
    elif suffix in SENT_INSTEAD:
        item.skip = make("file.not_spreadsheet", file=display, what=SENT_INSTEAD[suffix])
    elif suffix not in SPREADSHEET_SUFFIXES:
        item.skip = make("file.skipped_type", file=display, name=name)
    items.append(item)


def _is_workbook_zip(path: Path) -> bool:
    """A workbook renamed .zip is still a workbook."""
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
    except (zipfile.BadZipFile, OSError):
        return False
    return "xl/workbook.xml" in names or "mimetype" in names and "content.xml" in names


def _expand_zip(path: Path, display: str, items: list[Item], staging: Path, depth: int) -> Finding | None:
    """Extract a zip's members into the staging folder and add them; the zip's own finding."""
    first = len(items)
    if depth > MAX_ZIP_DEPTH:
        return make("file.archive_too_deep", file=display, depth=MAX_ZIP_DEPTH)
    try:
        with zipfile.ZipFile(path) as zf:
            check_zip(zf)
            target = Path(tempfile.mkdtemp(prefix="zip-", dir=staging))
            for index, info in enumerate(zf.infolist()):
                if info.is_dir():
                    continue
                member_name = _member_name(info)
                out = target / f"{index:05d}_{safe_name(member_name)}"
                with zf.open(info) as src, open(out, "wb") as dst:
                    shutil.copyfileobj(src, dst, 1024 * 1024)
                member_time = datetime(*info.date_time).timestamp() if info.date_time[0] >= 1980 else 0.0
                os.utime(out, (member_time, member_time))
                inner_display = f"{display} › {member_name}"
                if any(part.startswith(".") or part == "__MACOSX" for part in member_name.split("/")):
                    items.append(Item(inner_display, out, Path(member_name).name,
                                      make("file.skipped_hidden", file=inner_display), member_time))
                    continue
                before = len(items)
                _add_file(out, inner_display, items, staging, depth)
                for added in items[before:]:
                    if added.source == out:
                        added.name = Path(member_name).name
                        added.mtime = member_time
    except WorkbookError as exc:
        return make(exc.code, file=display, **exc.params)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as exc:
        return make("file.archive_damaged", file=display, reason=" ".join(str(exc).split())[:120])
    return make("file.archive", file=display, count=len(items) - first)


def _member_name(info: zipfile.ZipInfo) -> str:
    """Zip member names from Windows tools are often cp437-mangled Vietnamese; repair when possible."""
    name = info.filename
    if not info.flag_bits & 0x800:
        try:
            name = name.encode("cp437").decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            pass
    return name


def safe_name(name: str) -> str:
    """A file name safe on every file system, from a member or file name (its base only)."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    # no trailing dot or space: Windows cannot create such a name
    return "".join(c if c.isalnum() or c in "._- ()" else "_" for c in base)[:120].rstrip(". ") or "tep"
