"""Exact decimal scores: conversion from what a cell or a file holds, and Vietnamese formatting."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

ZERO = Decimal(0)
HUNDRED = Decimal(100)

_TEXT_NUMBER = re.compile(r"^[+]?\d+(?:[.,]\d+)?$")


def to_decimal(value) -> Decimal:
    """An exact Decimal from an int, a Decimal, a numeric string or a float.

    A float is taken through its shortest repr (`0.1` -> `Decimal("0.1")`): cell values read
    from .xlsx arrive as floats whose repr is the number the person typed.
    """
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool):
        raise TypeError("a boolean is not a score")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(str(value))


def parse_text_number(text: str) -> Decimal | None:
    """A number typed as text, as a person writes it: "2,5", "2.5", " 1 ". None if it is not one.

    A comma or a point is the decimal mark (never a thousands separator: scores are small).
    """
    cleaned = text.strip().replace("\u00a0", "").replace(" ", "")
    if not _TEXT_NUMBER.match(cleaned):
        return None
    try:
        return Decimal(cleaned.replace(",", "."))
    except InvalidOperation:  # pragma: no cover - the regex admits only valid numbers
        return None


def read_decimal(value) -> Decimal | None:
    """A cell's number as a person wrote it: a number, or a number typed as text ("2,5"). None
    for anything else (empty, a word, a boolean)."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float, Decimal)):
        return to_decimal(value)
    return parse_text_number(str(value))


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
