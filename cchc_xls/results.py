"""The harvested results as the ranking and the reports use them, loaded from harvest.json.

harvest.json is the hand-over point: `cchc rank` and `cchc report` read it, so an office can
rebuild the ranking after editing it or after the appraisal, without re-reading any workbook.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass, field, replace
from functools import cached_property
from decimal import Decimal
from pathlib import Path

from cchc_xls.errors import CchcError
from cchc_xls.findings import Finding, make, message
from cchc_xls.outputs import safe_text
from cchc_xls.numbers import to_decimal
from cchc_xls.rubric import Rubric, load_rubric
from cchc_xls.profile import OfficeProfile, profile_from_json
from cchc_xls.score import final_ranking, rank_units
from cchc_xls.units import Period, parse_period

RUBRIC_COPY = "rubric.yaml"
PART_KEYS = ("self_base_total", "self_bonus", "self_penalty", "appraisal_base_total", "appraisal_bonus", "appraisal_penalty")


@dataclass(frozen=True)
class UnitRow:
    code: str
    name: str
    kind: str | None
    cluster: str | None  # the units file's `group` (e.g. a former district)
    status: str  # submitted | missing | rejected
    file: str | None
    self_total: Decimal | None
    appraisal_total: Decimal | None = None
    appraisal_complete: bool = False
    subtotals: dict[str, Decimal] = field(default_factory=dict)
    scores: dict[str, Decimal] = field(default_factory=dict)
    not_applicable: tuple[str, ...] = ()
    evidence: dict[str, str] = field(default_factory=dict)
    explanations: dict[str, str] = field(default_factory=dict)
    appraisal: dict[str, Decimal] = field(default_factory=dict)
    appraisal_comments: dict[str, str] = field(default_factory=dict)
    appraisal_subtotals: dict[str, Decimal] = field(default_factory=dict)
    appraisal_missing: tuple[str, ...] = ()
    note: str = ""
    as_typed: dict[str, str] = field(default_factory=dict)  # invalid scores as the commune wrote them
    return_note: str = ""  # a counted return not clean: criteria not entered, errors (provisional Ghi chú)
    rank: int | None = None  # within the unit's ranking group
    group: str | None = None  # the band (Xếp loại)
    ranking_group: str | None = None  # None when the rubric ranks every unit together
    group_note: str = ""  # why the band differs from what the total alone gives
    # the parts of the totals: base (after rescaling), bonus and penalty that count
    self_base_total: Decimal | None = None
    self_bonus: Decimal | None = None
    self_penalty: Decimal | None = None
    appraisal_base_total: Decimal | None = None
    appraisal_bonus: Decimal | None = None
    appraisal_penalty: Decimal | None = None

    @property
    def committee(self) -> str:
        from cchc_xls.units import Unit

        return Unit(self.code, self.name, self.kind).committee

    ranking_total: Decimal | None = None  # what the ranking uses: set by rank_results for everyone alike
    previous: dict = field(default_factory=dict)  # harvest.json's `previous` key (compare.py)
    # harvest.json's `history` key: code -> {"self", "round1", "explanation", "round2": {...}}
    history: dict = field(default_factory=dict)

    def ranking_scores(self, final: bool) -> dict[str, Decimal]:
        """The leaf scores the ranking total comes from (the appraised ones once final)."""
        return self.appraisal if final else self.scores


@dataclass(frozen=True)
class Results:
    rubric: Rubric
    period: Period | None
    units: tuple[UnitRow, ...]
    files: tuple[dict, ...] = ()
    source: Path | None = None
    batch: str = ""  # the template set the returns came from (appraisal workbooks carry it)
    previous: dict = field(default_factory=dict)  # the earlier harvest compared with (compare.py)
    profile: OfficeProfile = field(default_factory=OfficeProfile)  # the office, as the harvest kept it

    # cached: asked once per unit by the ranking and the reports, and `units` is a tuple, never changed
    @cached_property
    def appraised(self) -> bool:
        """Final ranking: every submitted unit has a complete appraisal."""
        return final_ranking(self.units)

    @cached_property
    def appraisal_begun(self) -> bool:
        """Some unit has appraised scores already (the council's work has started)."""
        return any(u.appraisal_complete or u.appraisal for u in self.units)

    def submitted(self) -> list[UnitRow]:
        return [u for u in self.units if u.status == "submitted"]


MAX_NUMBER = Decimal(10_000)  # no score, subtotal or total of any rubric comes near it
STATUSES = ("submitted", "missing", "rejected")
MAX_PROBLEMS_SHOWN = 20


def _nfc(value):
    """harvest.json may have been edited by hand, possibly with decomposed (NFD) Vietnamese."""
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value)
    if isinstance(value, list):
        return [_nfc(v) for v in value]
    if isinstance(value, dict):
        return {_nfc(k): _nfc(v) for k, v in value.items()}
    return value


def _refuse_constant(name: str):
    # json accepts NaN and Infinity, which no score is; the message becomes the reason of results.unreadable
    raise ValueError(message("results.bad_constant", name=name))


def load_results(harvest_dir: Path) -> Results:
    """Read DIR/harvest.json (and the rubric copy beside it) through the schema of results_from_data."""
    path = Path(harvest_dir) / "harvest.json"
    try:
        data = _nfc(json.loads(path.read_text(encoding="utf-8-sig"), parse_constant=_refuse_constant))
    except FileNotFoundError as exc:
        raise CchcError.of("results.missing", path=path) from exc
    except (OSError, ValueError, RecursionError) as exc:
        raise CchcError.of("results.unreadable", path=path, reason=safe_text(exc, one_line=True)) from exc
    if not isinstance(data, dict):
        raise CchcError.of("results.not_object", path=path)
    copy = Path(harvest_dir) / RUBRIC_COPY
    if copy.is_file():
        rubric = load_rubric(copy)
    elif isinstance(data.get("rubric"), str) and data["rubric"].strip():
        rubric = load_rubric(data["rubric"])
    else:
        raise CchcError.of("results.no_rubric", path=path, copy=RUBRIC_COPY)
    return results_from_data(data, rubric, path)


class _Schema:
    """Reads harvest.json values by their documented types; every problem is a finding whose node
    is its key path (with the unit), and all of them are reported together: a hand edit must never
    be a traceback, and is fixed in one go."""

    def __init__(self):
        self.problems: list[Finding] = []

    def problem(self, where: str, code: str, **params) -> None:
        self.problems.append(make(code, node=where, **params))

    def number(self, value, where: str) -> Decimal | None:
        if value is None:
            return None
        if isinstance(value, str):
            hint = value.strip().replace(",", ".")
            self.problem(where, "results.text_number", value=safe_text(value, one_line=True)[:40],
                         hint=hint if _is_number(hint) else "73.5")
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
            self.problem(where, "results.not_number", got=_json_type(value))
            return None
        try:
            number = to_decimal(value)
        except (ArithmeticError, ValueError, TypeError):
            number = None
        if number is None or not number.is_finite() or abs(number) > MAX_NUMBER:
            self.problem(where, "results.out_of_range", value=safe_text(value)[:40], max=MAX_NUMBER)
            return None
        return number

    def numbers(self, value, where: str) -> dict[str, Decimal]:
        result = {}
        for key, item in self.mapping(value, where).items():
            number = self.number(item, f"{where}.{key}")
            if number is not None:
                result[key] = number
        return result

    def mapping(self, value, where: str) -> dict:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.problem(where, "results.not_mapping", got=_json_type(value))
            return {}
        return {safe_text(k, one_line=True): v for k, v in value.items()}

    def text(self, value, where: str, *, one_line: bool = True) -> str:
        if value is None:
            return ""
        if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
            return str(value)
        if not isinstance(value, str):
            self.problem(where, "results.not_text", got=_json_type(value))
            return ""
        return safe_text(value, one_line=one_line)

    def texts(self, value, where: str) -> dict[str, str]:
        return {k: self.text(v, f"{where}.{k}", one_line=False) for k, v in self.mapping(value, where).items()}

    def codes(self, value, where: str) -> tuple[str, ...]:
        if value is None:
            return ()
        if not isinstance(value, list):
            self.problem(where, "results.not_list", got=_json_type(value))
            return ()
        return tuple(self.text(v, f"{where}[{i}]") for i, v in enumerate(value))


def _is_number(text: str) -> bool:
    try:
        return Decimal(text).is_finite()
    except ArithmeticError:
        return False


def _json_type(value) -> str:
    names = {dict: "một bảng {…}", list: "một danh sách […]", str: "chữ", bool: "true/false", type(None): "null"}
    return names.get(type(value), "một số" if isinstance(value, (int, float)) else type(value).__name__)


def _unit_row(item, index: int, schema: _Schema) -> UnitRow | None:
    if not isinstance(item, dict):
        schema.problem(f"units[{index}]", "results.not_unit", got=_json_type(item))
        return None
    code = schema.text(item.get("code"), f"units[{index}].code").strip()
    if not code:
        schema.problem(f"units[{index}]", "results.no_code")
        return None
    name = schema.text(item.get("name"), f"units[{index}].name")
    where = f"units[{index}] (đơn vị {code}{' ' + name if name else ''})"
    status = item.get("status", "missing")
    if status not in STATUSES:
        schema.problem(f"{where}.status", "results.bad_status", value=safe_text(status, one_line=True)[:40],
                       allowed=", ".join(STATUSES))
        status = "missing"
    appraisal_total = schema.number(item.get("appraisal_total"), f"{where}.appraisal_total")
    complete = item.get("appraisal_complete", appraisal_total is not None)
    if not isinstance(complete, bool):
        schema.problem(f"{where}.appraisal_complete", "results.not_bool", got=_json_type(complete))
        complete = False
    kind = item.get("kind")
    return UnitRow(
        code=code, name=name, kind=schema.text(kind, f"{where}.kind") or None,
        cluster=schema.text(item.get("group_of_units"), f"{where}.group_of_units") or None,
        status=status, file=schema.text(item.get("file"), f"{where}.file") or None,
        self_total=schema.number(item.get("self_total"), f"{where}.self_total"), appraisal_total=appraisal_total,
        appraisal_complete=complete,
        subtotals=schema.numbers(item.get("subtotals"), f"{where}.subtotals"),
        scores=schema.numbers(item.get("scores"), f"{where}.scores"),
        not_applicable=schema.codes(item.get("not_applicable"), f"{where}.not_applicable"),
        evidence=schema.texts(item.get("evidence"), f"{where}.evidence"),
        explanations=schema.texts(item.get("explanations"), f"{where}.explanations"),
        appraisal=schema.numbers(item.get("appraisal"), f"{where}.appraisal"),
        appraisal_comments=schema.texts(item.get("appraisal_comments"), f"{where}.appraisal_comments"),
        appraisal_subtotals=schema.numbers(item.get("appraisal_subtotals"), f"{where}.appraisal_subtotals"),
        appraisal_missing=schema.codes(item.get("appraisal_missing"), f"{where}.appraisal_missing"),
        note=schema.text(item.get("note"), f"{where}.note", one_line=False),
        return_note=schema.text(item.get("return_note"), f"{where}.return_note"),
        as_typed=schema.texts(item.get("as_typed"), f"{where}.as_typed"),
        **{key: schema.number(item.get(key), f"{where}.{key}") for key in PART_KEYS},
        previous=_previous_unit(item.get("previous"), f"{where}.previous", schema),
        history=_history(item.get("history"), f"{where}.history", schema),
    )


HISTORY_STEPS = {"self": ("score", "file"), "round1": ("score", "comment", "file", "cell"),
                 "explanation": ("text", "evidence", "file", "cell"), "round2": ("score", "comment", "file", "cell")}


def _history(value, where: str, schema: _Schema) -> dict:
    """Each criterion's history (explanation_merge.history_json): scores exact, texts safe."""
    result = {}
    for code, steps in schema.mapping(value, where).items():
        item = {}
        for step, data in schema.mapping(steps, f"{where}.{code}").items():
            if step not in HISTORY_STEPS:
                continue
            data = schema.mapping(data, f"{where}.{code}.{step}")
            item[step] = {key: (schema.number(data.get(key), f"{where}.{code}.{step}.{key}") if key == "score"
                                else schema.text(data.get(key), f"{where}.{code}.{step}.{key}", one_line=False))
                          for key in HISTORY_STEPS[step]}
        result[code] = item
    return result


def _integer(value, where: str, schema: _Schema) -> int | None:
    number = schema.number(value, where)
    if number is None:
        return None
    if number != number.to_integral_value():
        schema.problem(where, "results.not_number", got=safe_text(value)[:20])
        return None
    return int(number)


def _previous_unit(value, where: str, schema: _Schema) -> dict:
    """A unit's `previous` key (compare.py), checked like the rest."""
    data = schema.mapping(value, where)
    if not data:
        return {}
    status = data.get("status", "new")
    if status not in ("matched", "new", "merged"):
        schema.problem(f"{where}.status", "results.bad_status", value=safe_text(status, one_line=True)[:40],
                       allowed="matched, new, merged")
        status = "new"
    criteria = {}
    for code, item in schema.mapping(data.get("criteria"), f"{where}.criteria").items():
        numbers = schema.numbers(item, f"{where}.criteria.{code}")
        if "previous" in numbers:
            criteria[code] = numbers
    return {
        "status": status, "code": schema.text(data.get("code"), f"{where}.code"),
        "name": schema.text(data.get("name"), f"{where}.name"),
        "codes": list(schema.codes(data.get("codes"), f"{where}.codes")),
        "names": list(schema.codes(data.get("names"), f"{where}.names")),
        "total": schema.number(data.get("total"), f"{where}.total"),
        "total_change": schema.number(data.get("total_change"), f"{where}.total_change"),
        "rank": _integer(data.get("rank"), f"{where}.rank", schema),
        "rank_change": _integer(data.get("rank_change"), f"{where}.rank_change", schema),
        "band": schema.text(data.get("band"), f"{where}.band") or None,
        "band_change": schema.text(data.get("band_change"), f"{where}.band_change"),
        "criteria": criteria,
    }


def _previous_head(value, schema: _Schema) -> dict:
    """The head key `previous`: the earlier harvest compared with (compare.py)."""
    data = schema.mapping(value, "previous")
    if not data:
        return {}
    gone = []
    gone_data = data.get("gone") or []
    if not isinstance(gone_data, list):
        schema.problem("previous.gone", "results.not_list", got=_json_type(gone_data))
        gone_data = []
    for index, item in enumerate(gone_data):
        where = f"previous.gone[{index}]"
        entry = schema.mapping(item, where)
        gone.append({"code": schema.text(entry.get("code"), f"{where}.code"),
                     "name": schema.text(entry.get("name"), f"{where}.name"),
                     "total": schema.number(entry.get("total"), f"{where}.total"),
                     "rank": _integer(entry.get("rank"), f"{where}.rank", schema),
                     "band": schema.text(entry.get("band"), f"{where}.band") or None})
    return {
        **{key: schema.text(data.get(key), f"previous.{key}")
           for key in ("source", "period", "period_label", "rubric", "rubric_hash", "mapping_file")},
        "appraised": data.get("appraised") is True,
        "gone": gone,
        "rubric_changes": schema.texts(data.get("rubric_changes"), "previous.rubric_changes"),
    }


def results_from_data(data: dict, rubric: Rubric, source: Path | None = None) -> Results:
    """Results from the harvest.json structure (already parsed, or just built by the harvest).

    Every value is checked against its documented type and range (numbers finite, within
    ±10 000; texts made safe for every output); one CchcError carries every problem as a finding
    (node: its key path and unit), so a hand edit is fixed in one go."""
    schema = _Schema()
    where = source or "harvest.json"
    units_data = data.get("units", [])
    if not isinstance(units_data, list):
        raise CchcError.of("results.units_not_list", path=where, got=_json_type(units_data))
    units = [row for index, item in enumerate(units_data) if (row := _unit_row(item, index, schema)) is not None]
    period = None
    if data.get("period"):
        try:
            period = parse_period(data["period"])
        except CchcError as exc:
            schema.problem("period", "results.bad_period", reason=str(exc))
    files = data.get("files", [])
    if not isinstance(files, list):
        schema.problem("files", "results.not_list", got=_json_type(files))
        files = []
    previous = _previous_head(data.get("previous"), schema)
    if schema.problems:
        shown = schema.problems[:MAX_PROBLEMS_SHOWN]
        more = len(schema.problems) - len(shown)
        lines = "\n".join([f"  - {p.node}: {p.message}" for p in shown]
                          + (["  " + message("results.more_problems", count=more)] if more else []))
        raise CchcError.of("results.invalid", findings=tuple(schema.problems), path=where,
                           count=len(schema.problems), problems=lines)
    batch = schema.text(data.get("batch"), "batch")
    results = Results(rubric, period, tuple(units), tuple(f for f in files if isinstance(f, dict)), source, batch,
                      previous=previous, profile=profile_from_json(data.get("profile")))
    return rank_results(results)


def rank_results(results: Results) -> Results:
    """Ranks (ties share: 1, 2, 2, 4) and groups by the appraised totals when complete, else self."""
    units = tuple(replace(unit, ranking_total=ranked.total, rank=ranked.rank, group=ranked.group,
                          ranking_group=ranked.ranking_group, group_note=ranked.note)
                  for unit, ranked in zip(results.units, rank_units(results.units, results.rubric)))
    return replace(results, units=units)


def ordered_for_ranking(results: Results) -> list[UnitRow]:
    """Ranked units best first, then the units that sent nothing or were rejected; with ranking
    groups, one group after the other in the rubric's order."""
    return [unit for _, units in ranking_sections(results) for unit in units]


def ranking_sections(results: Results) -> list[tuple[str | None, list[UnitRow]]]:
    """(ranking group, its units best first then those not ranked) for each ranking group in the
    rubric's order; one section named None when the rubric ranks every unit together."""
    names = results.rubric.ranking_group_names()
    present = {u.ranking_group for u in results.units}
    order = names + sorted(g for g in present if g not in names and g is not None) if names else [None]
    sections = []
    for name in order:
        members = [u for u in results.units if u.ranking_group == name]
        if not members and name is not None:
            continue
        ranked = sorted((u for u in members if u.rank is not None), key=lambda u: (u.rank, u.name))
        sections.append((name, ranked + [u for u in members if u.rank is None]))
    return sections
