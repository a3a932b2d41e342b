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
from array import array
import unicodedata
import zlib
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from cchc_xls.findings import COUNCIL_ONLY, Finding, make
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
# One pattern for the whole reference, its date included: one match object per reference is what
# keeps a province's 400,000 evidence cells cheap to read.
_REFERENCE = re.compile(
    r"(?<![\w/.,])(?P<number>\d{1,5}[a-zA-Z]?)\s*(?P<sep>/+|-)\s*(?:(?P<year>\d{4})\s*/\s*)?"
    r"(?P<symbol>" + _SEGMENT + r"(?:\s*[-_/]\s*" + _SEGMENT + r")*)"
    r"(?:[\s,;:(]*(?:(?:được\s+)?(?:ban\s+hành|ký)\s+)?(?:ngày\s*)?"
    r"(?:(?P<d>\d{1,2})\s*[/.-]\s*(?P<m>\d{1,2})\s*[/.-]\s*(?P<y>\d{4}|\d{2})(?!\d)"
    r"|(?P<wd>\d{1,2})\s+tháng\s+(?P<wm>\d{1,2})\s+năm\s+(?P<wy>\d{4})))?",
    re.IGNORECASE,
)
_DATE = re.compile(r"\d{1,2}\s*[/.-]\s*\d{1,2}\s*[/.-]\s*\d{2,4}")
_YEAR = re.compile(r"^(19|20)\d\d$")
_FIGURE = re.compile(r"\d+(?:[.,]\d+)?")
_QUICK = re.compile(r"\d\s*[/-]")
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
    text = str(text or "")
    if not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    if "–" in text or "—" in text:
        text = text.replace("–", "-").replace("—", "-")
    return text


def _squash(text: str) -> str:
    return " ".join(_nfc(text).split())


def _symbol(raw: str) -> str:
    symbol = raw.replace("_", "-").upper()
    if " " in symbol or "\n" in symbol or "\t" in symbol:
        symbol = "".join(symbol.split())
    if "TTR" in symbol or "CTR" in symbol or "TTG" in symbol:
        symbol = "".join(_SYMBOL_CASE.get(part, part) for part in re.split(r"([-/])", symbol))
    return symbol


def _date(day: str | None, month: str | None, year: str | None) -> date | None:
    if day is None:
        return None
    wanted = int(year)
    try:
        return date(wanted + 2000 if wanted < 100 else wanted, int(month), int(day))
    except ValueError:  # 31/02: not a date, nothing to judge
        return None


def _kind(symbol: str, before: str) -> str:
    first = symbol.split("-", 1)[0].split("/", 1)[0]
    if first in _SYMBOL_KINDS:
        return _SYMBOL_KINDS[first]
    words = _KIND_WORD.findall(before)
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
        kind = _kind(symbol, text[max(previous_end, match.start() - 60):match.start()])
        if match["year"]:  # Nghị định 30/2020/NĐ-CP: the year belongs to the symbol
            symbol = f"{match['year']}/{symbol}"
        day = _date(match["d"], match["m"], match["y"]) if match["d"] else _date(match["wd"], match["wm"], match["wy"])
        found.append(Reference(kind, match["number"], symbol, day, "-" if match["sep"] == "-" else "/"))
        previous_end = match.end()
    return found


def has_figure(text: str) -> bool:
    """A count, a ratio or a percentage ("14/15", "100%", "08 bài"); a bare year is not a figure."""
    rest = _nfc(text)
    if _QUICK.search(rest):
        rest = _DATE.sub(" ", _REFERENCE.sub(" ", rest))
    return any(not _YEAR.match(m.group()) for m in _FIGURE.finditer(rest))


def token_only(text: str) -> str | None:
    """The text when it says only "Có", "x", "Đã thực hiện"…, else None."""
    if len(text) > 30:
        return None
    squashed = " ".join(re.sub(r"[\s.,;:!()\-+*/]+", " ", _nfc(text).casefold()).split())
    return _squash(text) if squashed in TOKEN_ONLY else None


def period_end(period: Period) -> date:
    """The last day of the assessed period (a year, or its first or second half)."""
    return date(period.year, 6, 30) if period.half == 1 else date(period.year, 12, 31)


def _preview(text: str) -> str:
    text = _squash(text)
    return text if len(text) <= PREVIEW else text[:PREVIEW - 1] + "…"


def _day(value: date) -> str:
    return value.strftime("%d/%m/%Y")


def read_evidence(evidence: dict[str, str]) -> dict[str, list[Reference]]:
    """Each criterion's cited documents, parsed once for every rule."""
    return {code: parse_references(text) for code, text in evidence.items() if text}


def unit_suggestions(rubric: Rubric, period: Period | None, evidence: dict[str, str], scores: dict[str, Decimal],
                     locate, today: date | None = None, references: dict | None = None) -> list[Finding]:
    """The per-unit evidence findings; `locate(code)` gives the file/sheet/cell/node keywords.

    `references` is `read_evidence(evidence)` when the caller already has it.
    """
    today = today or date.today()
    end = period_end(period) if period else None
    references = read_evidence(evidence) if references is None else references
    findings = []
    for node in rubric.leaves():
        text = evidence.get(node.code)
        if not text:
            continue
        found = _node_suggestions(node, text, references.get(node.code, []), scores, period, end, today)
        if found:  # the cell is located only for a finding (most evidence raises none)
            where = locate(node.code)
            findings.extend(make(code, **where, **params) for code, params in found)
    return findings


def _node_suggestions(node, text: str, cited: list[Reference], scores: dict[str, Decimal], period: Period | None,
                      end: date | None, today: date) -> list[tuple[str, dict]]:
    """One criterion's evidence findings as (code, parameters), before they are placed."""
    bare = token_only(text)
    if bare:
        return [("evidence.token_only", {"code": node.code, "text": bare})]
    found = []
    for ref in cited:
        if ref.date is None:
            continue
        if ref.date > today:
            found.append(("evidence.date_future", {"code": node.code, "reference": str(ref), "date": _day(ref.date),
                                                   "today": _day(today)}))
        elif end and ref.date > end:
            found.append(("evidence.date_after_period", {"code": node.code, "reference": str(ref),
                                                         "date": _day(ref.date), "end": _day(end)}))
    dated = [r for r in cited if r.date]
    if node.evidence_window and period and dated:
        start, stop = (window_bound(b, period.year) for b in node.evidence_window)
        if not any(start <= r.date <= stop for r in dated):
            found.append(("evidence.outside_window", {"code": node.code, "start": _day(start), "end": _day(stop),
                                                      "references": "; ".join(str(r) for r in dated)}))
    score = scores.get(node.code)
    if score is not None and score == node.max and not cited and not has_figure(text):
        found.append(("evidence.no_document", {"code": node.code, "max": format_vn(node.max),
                                               "preview": _preview(text)}))
    return found


def _compared(code: str, text: str, references) -> list[tuple[str, tuple | str, Reference | None]]:
    """What the cross-unit rules compare in one criterion's evidence: (kind, key, reference) per
    dated document and, when long enough, for the text itself."""
    if not text or token_only(text):
        return []
    found, seen = [], set()
    for ref in references:
        if ref.date is not None and ref.key not in seen:
            seen.add(ref.key)
            found.append(("document", ref.key, ref))
    squashed = " ".join(_nfc(text).casefold().split())
    if len(squashed) >= MIN_SHARED_TEXT:
        found.append(("text", squashed, None))
    return found


def _hash32(code: str, kind: str, key) -> int:
    # CRC-32: the same in every worker process (str hashes are not), and cheap; a collision only
    # costs a look at the texts, which confirm every match
    return zlib.crc32(repr((code, kind, key)).encode("utf-8"))


def _row(cell: str | None) -> int:
    digits = "".join(ch for ch in cell or "" if ch.isdigit())
    return min(int(digits), 0xFFFF) if digits else 0


def citations(rubric: Rubric, evidence: dict[str, str], references: dict[str, list[Reference]], locate,
              row_of=None) -> array:
    """What the cross-unit rules compare, packed small enough for a whole country's returns
    (8 bytes each): a 32-bit hash of (criterion, kind, key), the criterion's index among the
    rubric's leaves and the evidence cell's row. The rare matches are confirmed from the texts."""
    index = {node.code: i for i, node in enumerate(rubric.leaves())}
    packed = array("Q")
    for code, text in evidence.items():
        if code not in index:
            continue
        row = min(row_of(code), 0xFFFF) if row_of is not None else _row(locate(code).get("cell"))
        for kind, key, _ in _compared(code, text, references.get(code, ())):
            packed.append(_hash32(code, kind, key) << 32 | index[code] << 16 | row)
    return packed


def read_for_council(rubric: Rubric, period: Period | None, evidence: dict[str, str], scores: dict[str, Decimal],
                     locate, today: date | None = None, row_of=None) -> tuple[list[Finding], array]:
    """One return's evidence read once: its own suggestions, and its citations for the cross-unit rules.

    Runs where the return is checked (check.check_return, in the worker processes); `row_of(code)`,
    when given, is the evidence cell's row (0 if none) without building its reference.
    """
    references = read_evidence(evidence)
    return (unit_suggestions(rubric, period, evidence, scores, locate, today, references),
            citations(rubric, evidence, references, locate, row_of))


@dataclass
class Cited:
    """One accepted return as the cross-unit rules see it; their findings are added to `findings`."""

    unit_name: str
    file: str
    sheet: str | None
    column: str  # the evidence column's letter: with a citation's row, the cell
    citations: array
    texts: object  # () -> {criterion: evidence text}, read only for the returns a match involves
    findings: list[Finding] = field(default_factory=list)

    def cell(self, row: int) -> str | None:
        return f"{self.column}{row}" if self.column and row else None


def _others(names: list[str]) -> str:
    shown = ", ".join(names[:5])
    return shown + (f" và {len(names) - 5} đơn vị khác" if len(names) > 5 else "")


def cross_unit_suggestions(entries: list[Cited], rubric: Rubric) -> None:
    """Same document or same text in two communes' evidence for one criterion: a finding on each.

    A document is the same when its number, symbol and date are (each commune numbers its own
    documents, so an undated "01/KH-UBND" proves nothing). A document or a text found in more than
    half of the communes is taken as common ground (the district's công văn every commune answers,
    the district's model sentence) and not reported.
    """
    codes = [node.code for node in rubric.leaves()]
    seen, repeated = set(), set()
    for entry in entries:
        for value in entry.citations:
            digest = value >> 32
            if digest in seen:
                repeated.add(digest)
            else:
                seen.add(digest)
    del seen
    wanted: dict[int, list[tuple[str, int, int]]] = {}
    for index, entry in enumerate(entries):
        for value in entry.citations:
            if value >> 32 in repeated:
                wanted.setdefault(index, []).append((codes[(value >> 16) & 0xFFFF], value >> 32, value & 0xFFFF))
    groups: dict[tuple, list[tuple[int, int, Reference | None]]] = {}
    # a repeated citation is, by definition, in several communes' texts, often the very same
    # text: each (criterion, text) is parsed and hashed once
    confirmed: dict[tuple[str, str], list[tuple[int, tuple, Reference | None]]] = {}
    for index, items in wanted.items():  # confirm each candidate from its text: hashes may collide
        texts = entries[index].texts()
        for code, digest, row in items:
            text = texts.get(code, "")
            compared = confirmed.get((code, text))
            if compared is None:
                compared = confirmed[(code, text)] = [
                    (_hash32(code, kind, key), (kind, key), ref)
                    for kind, key, ref in _compared(code, text, parse_references(text))]
            for hashed, (kind, key), ref in compared:
                if hashed == digest:
                    groups.setdefault((code, kind, key), []).append((index, row, ref))
    common = max(2, len(entries) // 2)
    for (code, kind, _), found in groups.items():
        if not 2 <= len({index for index, _, _ in found}) <= common:
            continue
        for index, row, ref in found:
            entry = entries[index]
            others = _others([entries[i].unit_name for i, _, _ in found if i != index])
            where = {"file": entry.file, "sheet": entry.sheet, "cell": entry.cell(row), "node": code}
            if kind == "document":
                entry.findings.append(make("evidence.shared_document", **where, code=code, reference=str(ref),
                                           others=others))
            else:
                entry.findings.append(make("evidence.same_text", **where, code=code, others=others))


def add_evidence_findings(unit_results, files, rubric: Rubric) -> None:
    """The cross-unit evidence rules over the returns that count, once per harvest, after assignment.

    Each return's own suggestions were made when it was checked; those of a file that does not
    count (superseded by a newer return, rejected) are dropped: the council reads what counts.
    """
    entries = []
    for outcome in unit_results:
        checked = outcome.checked
        if checked is not None:
            entries.append(Cited(outcome.unit.name, outcome.file.path, checked.sheet or None, checked.evidence_column,
                                 checked.citations, lambda checked=checked: checked.text_maps()[0],
                                 outcome.file.findings))
    counting = {id(entry.findings) for entry in entries}
    for file in files:
        if id(file.findings) not in counting and any(f.for_council for f in file.findings):
            file.findings[:] = [f for f in file.findings if not f.for_council]
    cross_unit_suggestions(entries, rubric)


def suggestions_by_unit(results) -> dict[str, dict[str, str]]:
    """The council's suggestions from harvest.json, per unit code and criterion, one per line:
    what the appraisal workbooks show in their column "Gợi ý thẩm định"."""
    counted = {unit.file: unit.code for unit in results.units if unit.status == "submitted" and unit.file}
    found: dict[str, dict[str, list[str]]] = {}
    for file in results.files:
        code = counted.get(file.get("path"))
        if code is None:
            continue
        for finding in file.get("findings") or ():
            if finding.get("code") in COUNCIL_ONLY and finding.get("node"):
                found.setdefault(code, {}).setdefault(finding["node"], []).append("• " + finding["message"])
    return {unit: {node: "\n".join(lines) for node, lines in nodes.items()} for unit, nodes in found.items()}
