"""E-mail files as inputs: `.eml` messages and `.mbox` mailboxes -> their attachments.

Offices export what communes sent as single messages (`.eml`, "Save as" in Thunderbird, Outlook
on the web, Gmail's "Download message") or as whole mailboxes (`.mbox`, Thunderbird's
ImportExportTools, Google Takeout). Every attachment is handed to the harvest (inputs.py) like
any other file, with the sender and the date of the message it came with. Everything is
bounded: the size of a message, the number of messages read from a mailbox, the number and the
total size of the attachments (inputs.py bounds the nesting of messages in messages). Attachment
names are decoded (RFC 2047/2231, which `email.policy.default` does) and reduced to a plain base
name; nothing is written here, and the collector stages the bytes under names of its own.
"""

from __future__ import annotations

import email
import email.parser
import email.policy
import mailbox
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Callable, Iterator

from cchc_xls.findings import Finding, make

MAIL_SUFFIXES = {".eml", ".mbox"}
MAX_MESSAGE_BYTES = 80 * 1024 * 1024  # one message: a 50 MB attachment grows by a third in base64
MAX_MAILBOX_BYTES = 4 * 1024 * 1024 * 1024
MAX_MESSAGES = 20_000  # read from one mailbox; a whole year's inbox of a district office is far less
MAX_ATTACHMENTS = 2_000  # from one e-mail file (all its messages together)
MAX_ATTACHMENT_BYTES = 1024 * 1024 * 1024  # extracted from one e-mail file, all attachments together
HEADER_NAMES = ("from", "to", "date", "subject", "message-id", "mime-version", "content-type", "received")
UNNAMED = "tep-dinh-kem"


@dataclass(frozen=True)
class Attachment:
    """One attached file: its decoded, sanitised base name and its bytes."""

    name: str
    data: bytes


@dataclass(frozen=True)
class Message:
    """One message as the office received it."""

    sender: str  # "Văn phòng UBND xã Chí Minh <vp@chiminh.vn>", or "" when the message names none
    date: datetime | None  # the Date header (timezone-aware), None when missing or unreadable
    subject: str
    attachments: tuple[Attachment, ...]


class MailError(Exception):
    """An e-mail file that cannot be read at all; `code` and `params` make its finding."""

    def __init__(self, code: str, **params):
        super().__init__(code)
        self.code, self.params = code, params


def sanitise_name(name: str | None) -> str:
    """The base name of an attachment as a person can read it: no folders, no control characters.

    `../../Phiếu\\x07 xã.xlsx` -> `Phiếu xã.xlsx`. The result is NFC, at most 150 characters
    (the extension kept), never empty, never `.` or `..`.
    """
    text = unicodedata.normalize("NFC", str(name or ""))
    text = text.replace("\\", "/").rsplit("/", 1)[-1]
    text = "".join(c for c in text if unicodedata.category(c)[0] != "C")  # control, format, surrogate
    text = " ".join(text.split()).strip()
    if len(text) > 150:
        stem, dot, suffix = text.rpartition(".")
        text = (stem[: 150 - len(suffix) - 1] + "." + suffix) if dot and len(suffix) <= 10 else text[:150]
    return text if text.strip(".") else UNNAMED


def parse_message(data: bytes) -> EmailMessage:
    """Parse the bytes of one message with the modern policy (decoded headers and names)."""
    return email.message_from_bytes(data, policy=email.policy.default)


def looks_like_message(message: EmailMessage, data: bytes) -> bool:
    """A message has at least one of the usual headers and no NUL bytes in its header block."""
    head = data[:65536].split(b"\n\n", 1)[0].split(b"\r\n\r\n", 1)[0]
    if b"\0" in head:
        return False
    return any(message.get(name) is not None for name in HEADER_NAMES)


def message_sender(message: EmailMessage) -> str:
    """“Name <address>” from the From header (or Sender), "" when neither can be read."""
    for header in ("from", "sender"):
        try:
            value = message.get(header)
            addresses = getattr(value, "addresses", ()) if value is not None else ()
        except (ValueError, TypeError, IndexError):  # a malformed header: keep its raw text below
            addresses = ()
        for address in addresses:
            name = sanitise_text(address.display_name)
            spec = sanitise_text(address.addr_spec)
            if name and spec:
                return f"{name} <{spec}>"
            if name or spec:
                return name or spec
        if value is not None and str(value).strip():
            return sanitise_text(str(value))[:200]
    return ""


def message_date(message: EmailMessage) -> datetime | None:
    """The Date header as an aware datetime; None when missing or unreadable."""
    try:
        value = message.get("date")
        when = getattr(value, "datetime", None) if value is not None else None
    except (ValueError, TypeError, IndexError, OverflowError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:  # "-0000": the sender's zone is unknown; read it as this machine's
        try:
            when = when.astimezone()
        except (OverflowError, ValueError, OSError):  # year 1 or 9999: no clock shows it
            return None
    return when


def sanitise_text(text: str | None) -> str:
    """A header text reduced to one printable NFC line."""
    text = unicodedata.normalize("NFC", str(text or ""))
    return " ".join("".join(c if unicodedata.category(c)[0] != "C" else " " for c in text).split())


def _attachments(message: EmailMessage) -> Iterator[Attachment]:
    """The attached files of a message, forwarded messages' attachments included (walk() goes
    into a message/rfc822 part as into any multipart)."""
    for part in message.walk():
        if part is message or part.is_multipart():
            continue
        content_type = part.get_content_type()
        disposition = part.get_content_disposition()
        try:
            filename = part.get_filename()
        except (ValueError, TypeError, IndexError):
            filename = None
        if disposition == "inline" and part.get("content-id") and content_type.startswith("image/"):
            continue  # a logo or signature embedded in the HTML body, not a file the commune sent
        if filename is None and disposition != "attachment":
            continue  # the text and HTML bodies
        try:
            data = part.get_payload(decode=True) or b""
        except (ValueError, TypeError, LookupError):
            data = b""
        yield Attachment(sanitise_name(filename), data)


def read_eml(path: Path) -> Message:
    """One `.eml` file -> Message; MailError when it is not a message or is too large."""
    try:
        size = path.stat().st_size
        if size > MAX_MESSAGE_BYTES:
            raise MailError("mail.too_large", size=f"{size / 1024 / 1024:.0f}")
        data = path.read_bytes()
    except OSError as exc:
        raise MailError("file.damaged", reason=exc.strerror or str(exc)) from exc
    try:
        headers = email.parser.BytesHeaderParser(policy=email.policy.default).parsebytes(data[:65536])
    except UNREADABLE:
        headers = None
    if headers is None or not looks_like_message(headers, data):
        raise MailError("mail.not_message")
    return read_message(data)


def _to_message(message: EmailMessage) -> Message:
    subject = sanitise_text(str(message.get("subject") or ""))[:300]
    return Message(message_sender(message), message_date(message), subject, tuple(_attachments(message)))


# What the email package raises on a hostile message (MIME parts nested thousands deep, headers it
# cannot fold back): that message cannot be read, the others can.
UNREADABLE = (RecursionError, ValueError, TypeError, IndexError, LookupError, AttributeError)


def read_message(data: bytes) -> Message:
    """The bytes of one message -> Message; MailError("mail.damaged") when they cannot be read."""
    try:
        return _to_message(parse_message(data))
    except UNREADABLE as exc:
        reason = "các phần của thư lồng nhau quá sâu" if isinstance(exc, RecursionError) else type(exc).__name__
        raise MailError("mail.damaged", reason=reason) from None


def read_mbox(path: Path, skipped: list[tuple[int, str]]) -> Iterator[tuple[int, Message]]:
    """The messages of an `.mbox` mailbox with their numbers in it (from 1), lazily, at most
    MAX_MESSAGES (then MailLimit).

    Messages larger than MAX_MESSAGE_BYTES are not parsed and messages that cannot be read are
    left out: their numbers and why go to `skipped`.
    """
    try:
        size = path.stat().st_size
        with open(path, "rb") as handle:
            start = handle.read(5)
    except OSError as exc:
        raise MailError("file.damaged", reason=exc.strerror or str(exc)) from exc
    if size > MAX_MAILBOX_BYTES:
        raise MailError("mail.too_large", size=f"{size / 1024 / 1024:.0f}")
    if start != b"From ":
        raise MailError("mail.not_mailbox")
    box = mailbox.mbox(str(path), create=False)  # only read: never locked, flushed or written
    try:
        for number, key in enumerate(box.iterkeys(), start=1):
            if number > MAX_MESSAGES:
                raise MailLimit("mail.too_many_messages", limit=_thousands(MAX_MESSAGES))
            handle = box.get_file(key)
            try:
                data = handle.read(MAX_MESSAGE_BYTES + 1)
            finally:
                handle.close()
            if len(data) > MAX_MESSAGE_BYTES:
                skipped.append((number, f"lớn hơn {MAX_MESSAGE_BYTES // 1024 // 1024} MB"))
                continue
            # the "From " separator line is not a header of the message itself
            data = data.split(b"\n", 1)[1] if data.startswith(b"From ") and b"\n" in data else data
            try:
                message = read_message(data)
            except MailError as exc:
                skipped.append((number, exc.params["reason"]))
                continue
            yield number, message
    finally:
        box.close()


class MailLimit(Exception):
    """A bound was reached while reading an e-mail file: what was read so far is kept."""

    def __init__(self, code: str, **params):
        super().__init__(code)
        self.code, self.params = code, params


def expand_mail(path: Path, display: str, add: Callable[[str, Message, Attachment], None]) -> Finding:
    """Hand every attachment of an `.eml`/`.mbox` to `add(label, message, attachment)`.

    `label` names the message as the file lists show it (the e-mail file, or "… › thư 3" in a
    mailbox); the caller stages the bytes (never under the sender's name) and reads them like any
    file. Returns the e-mail file's own finding: what was read, or the bound that stopped it, or
    why it could not be read. Nothing is written here.
    """
    is_mbox = path.suffix.lower() == ".mbox"
    skipped: list[tuple[int, str]] = []
    counts = {"messages": 0, "count": 0}
    try:
        messages = read_mbox(path, skipped) if is_mbox else iter([(1, read_eml(path))])
        _hand_over(messages, display, is_mbox, add, counts)
    except MailError as exc:
        return make(exc.code, file=display, **exc.params)
    except MailLimit as exc:
        return make(exc.code, file=display, **exc.params, **counts)
    if skipped:
        shown = "; ".join(f"thư {n}: {why}" for n, why in skipped[:10]) + ("…" if len(skipped) > 10 else "")
        return make("mail.messages_skipped", file=display, skipped=len(skipped), detail=shown, **counts)
    return make("mail.read", file=display, **counts)


def _hand_over(messages, display: str, is_mbox: bool, add, counts: dict) -> None:
    total = 0
    for number, message in messages:
        counts["messages"] += 1
        label = f"{display} › thư {number}" if is_mbox else display
        for attachment in message.attachments:
            if counts["count"] >= MAX_ATTACHMENTS or total + len(attachment.data) > MAX_ATTACHMENT_BYTES:
                raise MailLimit("mail.too_many_attachments", limit=_thousands(MAX_ATTACHMENTS),
                                size=MAX_ATTACHMENT_BYTES // 1024 // 1024)
            counts["count"] += 1
            total += len(attachment.data)
            add(label, message, attachment)


def _thousands(number: int) -> str:
    return f"{number:,}".replace(",", ".")
