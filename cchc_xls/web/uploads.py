"""Uploaded files into a round's inbox: names made safe, never overwriting, size-capped.

E-mails (.eml, .mbox) are saved as they are: the harvest reads their attachments itself, with
each message's sender and date (cchc_xls/mail.py)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from cchc_xls.names import windows_safe_name

CHUNK = 1 << 16


@dataclass
class Saved:
    """What an upload kept (names in the inbox) and what it refused (one line each)."""

    names: list[str] = field(default_factory=list)  # paths relative to the inbox
    refused: list[str] = field(default_factory=list)  # one Vietnamese line per refused file


class TooLarge(Exception):
    """An uploaded file is larger than the cap."""


def _open_new(folder: Path, name: str):
    """Create folder/name, or name (2), (3)… when taken: an upload never replaces a file."""
    stem, dot, ext = name.rpartition(".") if "." in name else (name, "", "")
    for number in range(1, 10000):
        candidate = name if number == 1 else f"{stem} ({number}){dot}{ext}"
        try:
            fd = os.open(folder / candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o644)
        except FileExistsError:
            continue
        return candidate, os.fdopen(fd, "wb")
    raise OSError("too many files of the same name")


def save_stream(stream, folder: Path, name: str, limit: int) -> str:
    """Copy stream into folder under a safe, new name; TooLarge (and nothing kept) past limit."""
    folder.mkdir(parents=True, exist_ok=True)
    final, handle = _open_new(folder, windows_safe_name(name))
    written = 0
    try:
        with handle:
            while chunk := stream.read(CHUNK):
                written += len(chunk)
                if written > limit:
                    raise TooLarge(final)
                handle.write(chunk)
    except BaseException:
        (folder / final).unlink(missing_ok=True)
        raise
    return final


def save_uploads(files, folder: Path, limit: int) -> Saved:
    """Save every uploaded file (werkzeug FileStorage) into folder, as received."""
    saved = Saved()
    mb = limit // (1024 * 1024)
    for upload in files:
        if not upload or not upload.filename:
            continue
        try:
            name = save_stream(upload.stream, folder, upload.filename, limit)
        except TooLarge:
            saved.refused.append(f"“{windows_safe_name(upload.filename)}”: lớn hơn {mb} MB, không nhận.")
            continue
        saved.names.append(name)
    return saved
