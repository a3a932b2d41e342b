"""The harvested results as the ranking and the reports use them, loaded from harvest.json.

harvest.json is the hand-over point: `cchc rank` and `cchc report` read it, so an office can
rebuild the ranking after editing it or after the appraisal, without re-reading any workbook.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path

from cchc_xls.errors import CchcError
from cchc_xls.numbers import to_decimal
from cchc_xls.rubric import Rubric, load_rubric
from cchc_xls.score import final_ranking, rank_units
from cchc_xls.units import Period, parse_period

RUBRIC_COPY = "rubric.yaml"


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
    rank: int | None = None
    group: str | None = None

    @property
    def committee(self) -> str:
        from cchc_xls.units import Unit

        return Unit(self.code, self.name, self.kind).committee

    ranking_total: Decimal | None = None  # what the ranking uses: set by rank_results for everyone alike


@dataclass(frozen=True)
class Results:
    rubric: Rubric
    period: Period | None
    units: tuple[UnitRow, ...]
    files: tuple[dict, ...] = ()
    source: Path | None = None
    batch: str = ""  # the template set the returns came from (appraisal workbooks carry it)

    @property
    def appraised(self) -> bool:
        """Final ranking: every submitted unit has a complete appraisal."""
        return final_ranking(self.units)

    def submitted(self) -> list[UnitRow]:
        return [u for u in self.units if u.status == "submitted"]


def _dec(value) -> Decimal | None:
    return None if value is None else to_decimal(value)


def _decs(mapping) -> dict[str, Decimal]:
    return {k: to_decimal(v) for k, v in (mapping or {}).items() if v is not None}


def _nfc(value):
    """harvest.json may have been edited by hand, possibly with decomposed (NFD) Vietnamese."""
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value)
    if isinstance(value, list):
        return [_nfc(v) for v in value]
    if isinstance(value, dict):
        return {_nfc(k): _nfc(v) for k, v in value.items()}
    return value


def load_results(harvest_dir: Path) -> Results:
    """Read DIR/harvest.json (and the rubric copy beside it)."""
    path = Path(harvest_dir) / "harvest.json"
    try:
        data = _nfc(json.loads(path.read_text(encoding="utf-8-sig")))
    except FileNotFoundError as exc:
        raise CchcError(f"Không thấy {path}: chạy “cchc harvest” trước, hoặc chỉ đúng thư mục kết quả.") from exc
    except (OSError, ValueError) as exc:
        raise CchcError(f"Không đọc được {path}: {exc}") from exc
    copy = Path(harvest_dir) / RUBRIC_COPY
    rubric = load_rubric(copy if copy.is_file() else data["rubric"])
    return results_from_data(data, rubric, path)


def results_from_data(data: dict, rubric: Rubric, source: Path | None = None) -> Results:
    """Results from the harvest.json structure (already parsed, or just built by the harvest)."""
    units = []
    for item in data.get("units", []):
        units.append(UnitRow(
            code=str(item["code"]), name=item.get("name", ""), kind=item.get("kind"),
            cluster=item.get("group_of_units"), status=item.get("status", "missing"), file=item.get("file"),
            self_total=_dec(item.get("self_total")), appraisal_total=_dec(item.get("appraisal_total")),
            appraisal_complete=bool(item.get("appraisal_complete", item.get("appraisal_total") is not None)),
            subtotals=_decs(item.get("subtotals")), scores=_decs(item.get("scores")),
            not_applicable=tuple(item.get("not_applicable", [])),
            evidence=dict(item.get("evidence") or {}), explanations=dict(item.get("explanations") or {}),
            appraisal=_decs(item.get("appraisal")), appraisal_comments=dict(item.get("appraisal_comments") or {}),
            appraisal_subtotals=_decs(item.get("appraisal_subtotals")),
            appraisal_missing=tuple(item.get("appraisal_missing") or ()),
            note=item.get("note") or "",
        ))
    period = parse_period(data["period"]) if data.get("period") else None
    results = Results(rubric, period, tuple(units), tuple(data.get("files", [])), source, str(data.get("batch") or ""))
    return rank_results(results)


def rank_results(results: Results) -> Results:
    """Ranks (ties share: 1, 2, 2, 4) and groups by the appraised totals when complete, else self."""
    units = tuple(replace(unit, ranking_total=total, rank=rank, group=group)
                  for unit, (total, rank, group) in zip(results.units, rank_units(results.units, results.rubric)))
    return replace(results, units=units)


def ordered_for_ranking(results: Results) -> list[UnitRow]:
    """Ranked units best first, then the units that sent nothing or were rejected."""
    ranked = sorted((u for u in results.units if u.rank is not None), key=lambda u: (u.rank, u.name))
    rest = [u for u in results.units if u.rank is None]
    return ranked + rest
