"""File names that are valid everywhere the office works, Windows included.

Windows refuses `<>:"/\\|?*`, control characters, names ending in a dot or a space, and the
device names (CON, PRN, AUX, NUL, COM1-9, LPT1-9), whatever the extension.
"""

from __future__ import annotations

import re
import unicodedata

FORBIDDEN = re.compile(r'[<>:"/\\|?*\x00-\x1f\x7f]')
RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}
MAX_NAME = 150  # characters: leaves room for the folder path under Windows' 260-character limit


def is_windows_safe(name: str) -> bool:
    """True when `name` (one path component) can be created on Windows as it is."""
    if not name or name in (".", "..") or FORBIDDEN.search(name) or name[-1] in ". ":
        return False
    return name.split(".")[0].strip().upper() not in RESERVED


def windows_safe_name(name: str, fallback: str = "tep") -> str:
    """The last component of an uploaded or received name, made valid on Windows and POSIX.

    Keeps Vietnamese letters (NFC) and the extension; drops any folder part (either slash),
    forbidden characters, leading dots (no hidden files) and trailing dots and spaces.
    """
    name = unicodedata.normalize("NFC", str(name)).replace("\\", "/").split("/")[-1]
    name = FORBIDDEN.sub("_", name).strip().lstrip(".").rstrip(". ")
    if not name:
        name = fallback
    stem, dot, ext = name.rpartition(".") if "." in name else (name, "", "")
    if stem.strip().upper() in RESERVED or stem.split(".")[0].strip().upper() in RESERVED:
        name = "_" + name
        stem = "_" + stem
    if len(name) > MAX_NAME:
        ext = ext[:20]
        name = stem[: MAX_NAME - len(ext) - 1].rstrip(". ") + (dot + ext if dot else "")
    return name
