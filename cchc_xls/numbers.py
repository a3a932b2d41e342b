"""Exact decimal scores: conversion from what a cell or a file holds, and Vietnamese formatting."""

from __future__ import annotations

import math
import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

ZERO = Decimal(0)
HUNDRED = Decimal(100)

# No score, maximum or total of a return comes near a million; a number beyond (1E29, 1E308, a
# 30-digit text) is not a score, and Decimal arithmetic on it would overflow the context's 28
# digits later (quantize raises InvalidOperation). Numbers read from files are checked here.
MAX_SANE = Decimal(1_000_000)
_MAX_SANE_FLOAT = 1_000_000.0
MAX_NUMBER_TEXT = 40  # characters of a typed number; longer text is not one

_TEXT_NUMBER = re.compile(r"^[+]?[0-9]+(?:[.,][0-9]+)?$")  # ASCII digits only


def to_decimal(value) -> Decimal:
    """An exact Decimal from an int, a Decimal, a numeric string or a float.

    A float is taken through its shortest repr (`0.1` -> `Decimal("0.1")`): cell values read
    from .xlsx arrive as floats whose repr is the number the person typed.
    A NaN or an infinity raises ValueError: no score is one, and comparing one raises later.
    """
    if isinstance(value, bool):
        raise TypeError("a boolean is not a score")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"not a finite number: {value!r}")
        return Decimal(repr(value))
    result = value if isinstance(value, Decimal) else Decimal(str(value))
    if not result.is_finite():
        raise ValueError(f"not a finite number: {value!r}")
    return result


def is_sane(value) -> bool:
    """True for a finite number within ±MAX_SANE (an int, float or Decimal), the only numbers
    a cell of a return may turn into a Decimal."""
    kind = type(value)
    if kind is float:  # the usual cell value: compared with floats, exactly (10^6 is one)
        return -_MAX_SANE_FLOAT <= value <= _MAX_SANE_FLOAT  # False for NaN and the infinities
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        return False
    if isinstance(value, float) and not math.isfinite(value):
        return False
    if isinstance(value, Decimal) and not value.is_finite():
        return False
    return -MAX_SANE <= value <= MAX_SANE


def sane_decimal(value) -> Decimal | None:
    """A number from a file as an exact Decimal when it is finite and in range, else None."""
    return to_decimal(value) if is_sane(value) else None


def parse_text_number(text: str) -> Decimal | None:
    """A number typed as text, as a person writes it: "2,5", "2.5", " 1 ". None if it is not one.

    A comma or a point is the decimal mark (never a thousands separator: scores are small).
    """
    cleaned = text.strip().replace("\u00a0", "").replace(" ", "")
    if len(cleaned) > MAX_NUMBER_TEXT or not _TEXT_NUMBER.match(cleaned):
        return None
    try:
        return Decimal(cleaned.replace(",", "."))
    except InvalidOperation:  # pragma: no cover - the regex admits only valid numbers
        return None


def read_decimal(value) -> Decimal | None:
    """A cell's number as a person wrote it: a number, or a number typed as text ("2,5"). None
    for anything else (empty, a word, a boolean, NaN, a number beyond MAX_SANE)."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float, Decimal)):
        return sane_decimal(value)
    return sane_decimal(parse_text_number(str(value)))


def normalize(value: Decimal) -> Decimal:
    """Drop trailing zeros without switching to exponent notation (2.500 -> 2.5, 10 -> 10)."""
    if value == value.to_integral_value():
        return value.quantize(Decimal(1))
    return value.normalize()


def round_half_up(value: Decimal, places: int) -> Decimal:
    """Round as Excel's ROUND does (half away from zero)."""
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def format_vn(value: Decimal | int | None, places: int | None = None) -> str:
    """A number as Vietnamese documents write it: decimal comma, no trailing zeros ("2,5", "14,35")."""
    if value is None:
        return ""
    value = to_decimal(value)
    if places is not None:
        value = round_half_up(value, places)
    text = format(normalize(value), "f")
    return text.replace(".", ",")


def to_json_number(value: Decimal | None):
    """An exact decimal as a JSON number: int when whole, else float of its exact text.

    Python's float repr round-trips the shortest decimal string, so 73.1 stays 73.1 in the file.
    """
    if value is None:
        return None
    value = normalize(value)
    if value == value.to_integral_value():
        return int(value)
    return float(value)
