"""Uploaded files into a round's inbox: names made safe, never overwriting, size-capped; the
attachments of e-mails (.eml, .mbox) saved beside them so the harvest reads them."""

from __future__ import annotations

import email
import email.errors
import io
import email.policy
import mailbox
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
        if name.lower().endswith((".eml", ".mbox")):
            saved.names.extend(extract_attachments(folder / name, folder, limit))
    return saved


def _messages(path: Path):
    if path.suffix.lower() == ".mbox":
        box = mailbox.mbox(path, factory=None, create=False)
        try:
            for message in box:
                yield email.message_from_bytes(message.as_bytes(), policy=email.policy.default)
        finally:
            box.close()
    else:
        with path.open("rb") as handle:
            yield email.message_from_binary_file(handle, policy=email.policy.default)


def extract_attachments(path: Path, folder: Path, limit: int) -> list[str]:
    """Each attachment of the mail(s) in path into folder/<mail name>_dinh-kem/ (the mail stays)."""
    target = folder / windows_safe_name(path.stem + "_dinh-kem")
    names = []
    try:
        for message in _messages(path):
            for part in message.iter_attachments():
                filename = part.get_filename()
                payload = part.get_payload(decode=True)
                if not filename or payload is None or len(payload) > limit:
                    continue
                saved = save_stream(io.BytesIO(payload), target, filename, limit)
                names.append(f"{target.name}/{saved}")
    except (OSError, ValueError, email.errors.MessageError):
        pass  # an unreadable mail stays in the inbox as received; the harvest lists it as skipped
    return names
