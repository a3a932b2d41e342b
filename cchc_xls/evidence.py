"""Evidence read for the appraisal council: the documents a commune cites, and what looks wrong.

A commune's "Tài liệu kiểm chứng" names documents the way clerks write them ("Kế hoạch số
47/KH-UBND ngày 30/12/2022", "KH 47/KH-UBND, 30/12/2022", "CV 271/UBND-NV ngày 15/3/2023",
"Quyết định số 12/QĐ-UBND ngày 05 tháng 01 năm 2024", "Thông báo số 52-TB/ĐU"). This module
parses them (`parse_references`) and turns what a careful council member would notice into
findings of the `evidence.*` family (findings.COUNCIL_CATALOGUE): suggestions, never a score,
and never part of a commune's feedback.

Per unit (`unit_suggestions`): a date in the future or after the assessed period; no date inside
the rubric's `evidence_window` for the criterion; a full score whose evidence names no document
and no figure; an evidence cell that only says "Có", "x", "Đã thực hiện". Across units, once per
harvest over the accepted returns (`cross_unit_suggestions`): the same document (number, symbol,
date) cited by two communes; the same evidence text for the same criterion.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from cchc_xls.findings import Finding, make
from cchc_xls.numbers import format_vn
from cchc_xls.rubric import Rubric, window_bound
from cchc_xls.units import Period

# Normalised kind -> the words and abbreviations clerks use for it (lower case, NFC).
KINDS: dict[str, tuple[str, ...]] = {
    "Kế hoạch": ("kế hoạch", "kh"),
    "Quyết định": ("quyết định", "qđ", "qd"),
    "Công văn": ("công văn", "cv"),
    "Báo cáo": ("báo cáo", "bc"),
    "Thông báo": ("thông báo", "tb"),
    "Tờ trình": ("tờ trình", "ttr"),
    "Nghị quyết": ("nghị quyết", "nq"),
    "Chỉ thị": ("chỉ thị", "ct"),
    "Kết luận": ("kết luận", "kl"),
    "Hướng dẫn": ("hướng dẫn", "hd"),
    "Chương trình": ("chương trình", "ctr"),
    "Biên bản": ("biên bản", "bb"),
    "Quy chế": ("quy chế", "qc"),
    "Đề án": ("đề án", "đa"),
    "Nghị định": ("nghị định", "nđ"),
    "Thông tư": ("thông tư", "tt"),
    "Pháp lệnh": ("pháp lệnh", "pl"),
}
# The first part of a symbol names the kind (Nghị định 30/2020/NĐ-CP, Phụ lục III); a công văn's
# symbol has none ("271/UBND-NV").
_SYMBOL_KINDS = {abbr.upper(): kind for kind, words in KINDS.items() for abbr in words[1:]}
_SYMBOL_CASE = {"TTR": "TTr", "CTR": "CTr", "TTG": "TTg"}
_KIND_WORD = re.compile(
    r"(?<!\w)(" + "|".join(sorted((re.escape(w) for ws in KINDS.values() for w in ws), key=len, reverse=True)) + r")(?!\w)",
    re.IGNORECASE,
)
_WORD_KINDS = {w: kind for kind, words in KINDS.items() for w in words}

_SEGMENT = r"[A-Za-zĐđ][A-Za-zĐđ0-9]*(?![^\W_])"
_REFERENCE = re.compile(
    r"(?<![\w/.,])(?P<number>\d{1,5}[a-zA-Z]?)\s?(?P<sep>/+|-)\s?(?:(?P<year>\d{4})\s?/\s?)?"
    r"(?P<symbol>" + _SEGMENT + r"(?:\s?[-_/]\s?" + _SEGMENT + r")*)"
)
_NUMERIC_DATE = re.compile(
    r"^[\s,;:(]*(?:(?:được\s+)?(?:ban\s+hành|ký)\s+)?(?:ngày\s*)?"
    r"(?P<d>\d{1,2})\s?[/.-]\s?(?P<m>\d{1,2})\s?[/.-]\s?(?P<y>\d{4}|\d{2})(?!\d)",
    re.IGNORECASE,
)
_WORDED_DATE = re.compile(
    r"^[\s,;:(]*(?:(?:được\s+)?(?:ban\s+hành|ký)\s+)?(?:ngày\s*)?"
    r"(?P<d>\d{1,2})\s+tháng\s+(?P<m>\d{1,2})\s+năm\s+(?P<y>\d{4})",
    re.IGNORECASE,
)
_YEAR = re.compile(r"^(19|20)\d\d$")
_FIGURE = re.compile(r"\d+(?:[.,]\d+)?")
_QUICK = re.compile(r"\d\s?(?:/|-)")
# What a cell says when it proves nothing (compared after lower-casing and dropping punctuation).
TOKEN_ONLY = frozenset({
    "có", "x", "đã thực hiện", "thực hiện", "có thực hiện", "đã có", "đạt", "hoàn thành", "đã hoàn thành",
    "ok", "v", "✓", "✔", "rồi", "đã làm", "đầy đủ", "tốt",
})
MIN_SHARED_TEXT = 20  # shorter identical texts ("Đã công khai") are too common to mean a copy
PREVIEW = 80


@dataclass(frozen=True)
class Reference:
    """One cited document: kind (normalised), number, symbol, date (None when not written)."""

    kind: str
    number: str
    symbol: str
    date: date | None = None
    separator: str = "/"  # "-" in a party document's "52-TB/ĐU"

    @property
    def key(self) -> tuple:
        """The same document whoever writes it: leading zeros, case and the date's form do not matter."""
        return (self.number.lstrip("0").lower() or "0", self.symbol.upper(), self.date)

    def __str__(self) -> str:
        text = f"{self.kind} số {self.number}{self.separator}{self.symbol}"
        return f"{text} ngày {self.date:%d/%m/%Y}" if self.date else text


def _nfc(text: str) -> str:
    text = unicodedata.normalize("NFC", str(text or ""))
    return " ".join(text.replace("–", "-").replace("—", "-").split())


def _symbol(raw: str) -> str:
    parts = re.split(r"\s?([-_/])\s?", raw)
    out = []
    for part in parts:
        if part in ("-", "_"):
            out.append("-")
        elif part == "/":
            out.append("/")
        else:
            upper = part.upper()
            out.append(_SYMBOL_CASE.get(upper, upper))
    return "".join(out)


def _date_after(text: str) -> date | None:
    match = _NUMERIC_DATE.match(text) or _WORDED_DATE.match(text)
    if not match:
        return None
    year = int(match["y"])
    year = year + 2000 if year < 100 else year
    try:
        return date(year, int(match["m"]), int(match["d"]))
    except ValueError:  # 31/02: not a date, nothing to judge
        return None


def _kind(symbol: str, before: str) -> str:
    first = re.split(r"[-/]", symbol, maxsplit=1)[0].upper()
    if first in _SYMBOL_KINDS:
        return _SYMBOL_KINDS[first]
    words = _KIND_WORD.findall(before[-60:])
    if words:
        return _WORD_KINDS[words[-1].lower()]
    return "Công văn"  # by the rules of administrative documents, a symbol without a kind


def parse_references(text: str) -> list[Reference]:
    """Every document reference in an evidence text, in order (NFD or lower case welcome)."""
    text = _nfc(text)
    if not _QUICK.search(text):
        return []
    found = []
    previous_end = 0
    for match in _REFERENCE.finditer(text):
        symbol = _symbol(match["symbol"])
        if match["sep"] == "-" and "/" not in symbol:  # "52-TB/ĐU" yes, "khu 5-B" no
            continue
        kind = _kind(symbol, text[previous_end:match.start()])
        if match["year"]:  # Nghị định 30/2020/NĐ-CP: the year belongs to the symbol
            symbol = f"{match['year']}/{symbol}"
        separator = "-" if match["sep"] == "-" else "/"
        found.append(Reference(kind, match["number"], symbol, _date_after(text[match.end():match.end() + 40]), separator))
        previous_end = match.end()
    return found


def _without_references(text: str) -> str:
    text = _REFERENCE.sub(" ", text)
    return re.sub(r"\d{1,2}\s?[/.-]\s?\d{1,2}\s?[/.-]\s?\d{2,4}", " ", text)


def has_figure(text: str) -> bool:
    """A count, a ratio or a percentage ("14/15", "100%", "08 bài"); a bare year is not a figure."""
    rest = _without_references(_nfc(text))
    return any(not _YEAR.match(m.group()) for m in _FIGURE.finditer(rest))


def token_only(text: str) -> str | None:
    """The text when it says only "Có", "x", "Đã thực hiện"…, else None."""
    squashed = " ".join(re.sub(r"[\s.,;:!()\-+*/]+", " ", _nfc(text).casefold()).split())
    return _nfc(text) if squashed in TOKEN_ONLY else None


def period_end(period: Period) -> date:
    """The last day of the assessed period (a year, or its first or second half)."""
    return date(period.year, 6, 30) if period.half == 1 else date(period.year, 12, 31)


def _preview(text: str) -> str:
    text = _nfc(text)
    return text if len(text) <= PREVIEW else text[:PREVIEW - 1] + "…"


def _day(value: date) -> str:
    return value.strftime("%d/%m/%Y")


def unit_suggestions(rubric: Rubric, period: Period | None, evidence: dict[str, str], scores: dict[str, Decimal],
                     locate, today: date | None = None) -> list[Finding]:
    """The per-unit evidence findings; `locate(code)` gives the file/sheet/cell/node keywords."""
    today = today or date.today()
    end = period_end(period) if period else None
    findings = []
    for node in rubric.leaves():
        text = evidence.get(node.code)
        if not text:
            continue
        where = locate(node.code)
        bare = token_only(text)
        if bare:
            findings.append(make("evidence.token_only", **where, code=node.code, text=bare))
            continue
        references = parse_references(text)
        for ref in references:
            if ref.date is None:
                continue
            if ref.date > today:
                findings.append(make("evidence.date_future", **where, code=node.code, reference=str(ref),
                                     date=_day(ref.date), today=_day(today)))
            elif end and ref.date > end:
                findings.append(make("evidence.date_after_period", **where, code=node.code, reference=str(ref),
                                     date=_day(ref.date), end=_day(end)))
        dated = [r for r in references if r.date]
        if node.evidence_window and period and dated:
            start, stop = (window_bound(b, period.year) for b in node.evidence_window)
            if not any(start <= r.date <= stop for r in dated):
                findings.append(make("evidence.outside_window", **where, code=node.code, start=_day(start),
                                     end=_day(stop), references="; ".join(str(r) for r in dated)))
        score = scores.get(node.code)
        if score is not None and score == node.max and not references and not has_figure(text):
            findings.append(make("evidence.no_document", **where, code=node.code, max=format_vn(node.max),
                                 preview=_preview(text)))
    return findings


@dataclass
class Cited:
    """One accepted return's evidence, as the cross-unit rules need it."""

    unit_code: str
    unit_name: str
    evidence: dict[str, str]
    locate: object  # code -> dict(file=..., sheet=..., cell=..., node=...)
    findings: list[Finding] = field(default_factory=list)


def _others(names: list[str]) -> str:
    shown = ", ".join(names[:5])
    return shown + (f" và {len(names) - 5} đơn vị khác" if len(names) > 5 else "")


def cross_unit_suggestions(entries: list[Cited]) -> None:
    """Same document or same text in two communes' evidence: a finding on each involved return.

    A document cited by more than half of the communes is taken as a higher level's (the
    district's công văn every commune answers) and not reported.
    """
    by_document: dict[tuple, list[tuple[int, str, Reference]]] = {}
    by_text: dict[tuple, list[tuple[int, str]]] = {}
    for index, entry in enumerate(entries):
        for code, text in entry.evidence.items():
            if not text or token_only(text):
                continue
            seen = set()
            for ref in parse_references(text):
                if ref.date is not None and ref.key not in seen:
                    seen.add(ref.key)
                    by_document.setdefault(ref.key, []).append((index, code, ref))
            squashed = " ".join(_nfc(text).casefold().split())
            if len(squashed) >= MIN_SHARED_TEXT:
                by_text.setdefault((code, squashed), []).append((index, code))
    common = max(2, len(entries) // 2)
    for citations in by_document.values():
        units = {index for index, _, _ in citations}
        if len(units) < 2 or len(units) > common:
            continue
        for index, code, ref in citations:
            others = [f"{entries[i].unit_name} (tiêu chí {c})" for i, c, _ in citations if i != index]
            entries[index].findings.append(make("evidence.shared_document", **entries[index].locate(code), code=code,
                                                reference=str(ref), others=_others(others)))
    for citations in by_text.values():
        if len({index for index, _ in citations}) < 2:
            continue
        for index, code in citations:
            others = [entries[i].unit_name for i, _ in citations if i != index]
            entries[index].findings.append(make("evidence.same_text", **entries[index].locate(code), code=code,
                                                others=_others(others)))


def add_evidence_findings(unit_results, rubric: Rubric, period: Period | None, today: date | None = None) -> None:
    """Run every evidence rule over the harvest's accepted returns; findings go on each return's file.

    Called by the harvest once units are assigned (only the return that counts is read).
    """
    entries = []
    for outcome in unit_results:
        checked = outcome.checked
        if checked is None:
            continue
        evidence, _ = checked.text_maps()
        locate = _locator(outcome.file.path, checked)
        outcome.file.findings.extend(unit_suggestions(rubric, period, evidence, checked.scores, locate, today))
        entries.append(Cited(outcome.unit.code, outcome.unit.name, evidence, locate, outcome.file.findings))
    cross_unit_suggestions(entries)


def _locator(path: str, checked):
    cells = checked.evidence_cells

    def locate(code: str) -> dict:
        return {"file": path, "sheet": checked.sheet or None, "cell": cells.get(code), "node": code}

    return locate
