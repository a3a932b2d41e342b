"""After every file is read: drop duplicates, identify each file's unit, keep the newest file per
unit (the older ones superseded), merge the appraisals and rank."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import PurePath

from cchc_xls.appraise import UnitAppraisal, appraisal_missing, merge_appraisals
from cchc_xls.check import Checked
from cchc_xls.findings import Finding, make
from cchc_xls.explanation_merge import merge_later_rounds
from cchc_xls.inputs import ATTACHMENT_SUFFIXES
from cchc_xls.layout import KIND_APPRAISAL_ROUND2, KIND_APPRAISAL_UNIT, KIND_EXPLANATION, KIND_LABELS, KIND_SELF
from cchc_xls.process import APPRAISAL_KINDS, LATER_KINDS, ROUND1_KINDS, FileResult
from cchc_xls.rubric import Rubric
from cchc_xls.score import Totals, compute_totals, not_applicable_codes, rank_units
from cchc_xls.units import Period, Unit, ascii_slug


@dataclass
class UnitResult:
    unit: Unit
    status: str = "missing"  # submitted | missing | rejected
    file: FileResult | None = None
    rank: int | None = None  # within the unit's ranking group
    group: str | None = None  # the band (Xếp loại)
    ranking_group: str | None = None  # None when the rubric ranks every unit together
    group_note: str = ""  # why the band differs from what the total alone gives
    appraisal: UnitAppraisal | None = None
    appraisal_totals: Totals | None = None
    appraisal_missing: tuple[str, ...] = ()
    attachments: list[FileResult] = field(default_factory=list)  # signed scans, photos, letters it sent

    @property
    def appraisal_complete(self) -> bool:
        return self.appraisal_totals is not None and not self.appraisal_missing

    @property
    def kind(self) -> str | None:
        """The unit's kind (xã, phường, đặc khu, thị trấn): it decides the ranking group."""
        return self.unit.kind

    def ranking_scores(self, final: bool) -> dict:
        """The leaf scores the ranking total comes from (the appraised ones once final)."""
        if final:
            return self.appraisal.scores if self.appraisal else {}
        return self.checked.scores if self.checked else {}

    @property
    def appraisal_total(self):
        return self.appraisal_totals.total if self.appraisal_complete else None

    @property
    def ranking_total(self):
        return self.appraisal_total if self.appraisal_complete else self.self_total

    @property
    def checked(self) -> Checked | None:
        return self.file.checked if self.file and self.status == "submitted" else None

    @property
    def self_total(self):
        checked = self.checked
        return checked.totals.total if checked and checked.totals else None


def _mark_duplicates(results: list[FileResult]) -> None:
    seen: dict[str, FileResult] = {}
    for result in results:
        if result.status == "skipped" or not result.sha256:
            continue
        first = seen.get(result.sha256)
        if first is None:
            seen[result.sha256] = result
            continue
        result.status = "skipped"
        result.checked = None
        result.findings = [make("file.duplicate", file=result.path, other=first.path)]


def _majority_period(results: list[FileResult]) -> Period | None:
    from cchc_xls.units import parse_period

    periods = Counter(r.identity.get("period") for r in results if r.status == "accepted" and r.identity.get("period"))
    if not periods:
        return None
    try:
        return parse_period(periods.most_common(1)[0][0])
    except Exception:  # a tampered period text: the per-file check reports it
        return None


def _majority_batch(results: list[FileResult]) -> str:
    batches = Counter(r.identity.get("batch") for r in results
                      if r.status == "accepted" and r.kind == KIND_SELF and r.identity.get("batch"))
    return batches.most_common(1)[0][0] if batches else ""


def _identify_appraisal(result: FileResult, rubric: Rubric, names: dict, period: Period | None, batch: str) -> Finding | None:
    identity = result.identity
    what = KIND_LABELS.get(result.kind, result.kind)
    if identity.get("rubric_id") != rubric.id:
        return make("appraisal.other_harvest", file=result.path, what=what,
                    detail=f"bộ tiêu chí {identity.get('rubric_id') or 'không rõ'}, đang tổng hợp {rubric.id}")
    if period and identity.get("period") and identity["period"] != period.key:
        return make("appraisal.other_harvest", file=result.path, what=what,
                    detail=f"kỳ {identity['period']}, đang tổng hợp kỳ {period.key}")
    if batch and identity.get("batch") and identity["batch"] != batch:
        return make("appraisal.other_harvest", file=result.path, what=what,
                    detail=f"bộ mẫu {identity['batch']}, đang tổng hợp bộ mẫu {batch}")
    for_one_unit = result.kind in (KIND_APPRAISAL_UNIT, KIND_EXPLANATION) or (
        result.kind == KIND_APPRAISAL_ROUND2 and result.unit_code)
    if for_one_unit and result.unit_code not in names:
        return make("identity.unknown_unit", file=result.path, code=result.unit_code or "?",
                    name=identity.get("unit_name") or "không rõ tên")
    return None


def _identify(results: list[FileResult], rubric: Rubric, units: list[Unit], period: Period | None,
              batch: str = "") -> None:
    names = {u.code: u for u in units}
    for result in results:
        if result.status != "accepted":
            continue
        identity = result.identity
        problem = None
        if result.kind in APPRAISAL_KINDS:
            problem = _identify_appraisal(result, rubric, names, period, batch)
        elif not result.unit_code:
            problem = make("identity.none", file=result.path)
        elif identity.get("rubric_id") and identity["rubric_id"] != rubric.id:
            problem = make("identity.other_rubric", file=result.path, found=identity["rubric_id"], expected=rubric.id)
        elif period and identity.get("period") and identity["period"] != period.key:
            problem = make("identity.other_period", file=result.path, found=identity["period"], expected=period.key)
        elif result.unit_code not in names:
            problem = make("identity.unknown_unit", file=result.path, code=result.unit_code,
                           name=identity.get("unit_name") or "không rõ tên")
        if problem is not None:
            result.status = "rejected"
            result.findings.insert(0, problem)
            continue
        if identity.get("rubric_hash") and identity["rubric_hash"] != rubric.content_hash:
            result.findings.insert(0, make("identity.rubric_changed", file=result.path, rubric=rubric.id,
                                           found=identity["rubric_hash"], expected=rubric.content_hash))
        if period and not identity.get("period"):
            result.findings.insert(0, make("identity.period_unknown", file=result.path, expected=period.key))


def _sort_key(result: FileResult):
    try:
        modified = result.modified.timestamp() if result.modified else 0.0
    except (OverflowError, ValueError, OSError):  # a saved time of year 1 or 9999
        modified = 0.0
    return (modified, result.mtime, result.path)


def _assign(results: list[FileResult], units: list[Unit]) -> list[UnitResult]:
    by_unit: dict[str, list[FileResult]] = {}
    rejected_by_unit: dict[str, FileResult] = {}
    for result in results:
        if result.kind != KIND_SELF:
            continue
        if result.status == "accepted":
            by_unit.setdefault(result.unit_code, []).append(result)
        elif result.status == "rejected" and result.unit_code:
            rejected_by_unit[result.unit_code] = result
    unit_results = []
    for unit in units:
        candidates = sorted(by_unit.get(unit.code, []), key=_sort_key)
        outcome = UnitResult(unit)
        if candidates:
            newest = candidates[-1]
            outcome.status, outcome.file = "submitted", newest
            older = candidates[:-1]
            when = local_time(newest.modified, newest.mtime)
            for old in older:
                old.status = "superseded"
                old.findings.insert(0, make("unit.superseded", file=old.path, newer=newest.path,
                                            time=when))
            if older:
                newest.findings.insert(0, make("unit.superseded_other", file=newest.path, count=len(older),
                                               files=", ".join(o.path for o in older)))
        elif unit.code in rejected_by_unit:
            outcome.status, outcome.file = "rejected", rejected_by_unit[unit.code]
        unit_results.append(outcome)
    return unit_results


def _merge_appraisals(results: list[FileResult], unit_results: list[UnitResult], rubric: Rubric,
                      units: list[Unit]) -> None:
    """The council's and the survey's scores, merged per unit; totals only from complete sets."""
    accepted = [r for r in results if r.status == "accepted" and r.kind in APPRAISAL_KINDS]
    _supersede_older_workbooks(accepted)
    sources = [(r, r.appraisal_entries) for r in accepted if r.status == "accepted" and r.kind in ROUND1_KINDS]
    later = sorted(((r, r.appraisal_entries) for r in accepted if r.status == "accepted" and r.kind in LATER_KINDS),
                   key=lambda pair: (pair[0].kind != KIND_EXPLANATION, _sort_key(pair[0])))
    if not sources:
        # explanations and round 2 are about round 1's scores: a harvest of the returns alone
        # (an inbox that also holds the explanations) says so once per file, never per criterion
        for result, _ in later:
            result.findings.append(make("explanation.without_round1", file=result.path, what=KIND_LABELS[result.kind]))
        return
    merged = merge_appraisals(sources, rubric, {u.code: u for u in units})
    for result, entries in sources:
        # what was really merged: not a value refused, of an unknown unit, or in conflict
        count = sum(1 for e in entries if e.value is not None and e.unit in merged
                    and e.code not in merged[e.unit].conflicts and merged[e.unit].scores.get(e.code) == e.value)
        result.findings.append(make("appraisal.merged", file=result.path, count=count))
    if later:
        self_scores = {o.unit.code: o.checked.scores for o in unit_results if o.checked}
        merge_later_rounds(later, merged, self_scores, rubric, {u.code: u for u in units})
    for outcome in unit_results:
        appraisal = merged.get(outcome.unit.code)
        if appraisal is None or outcome.status != "submitted":
            outcome.appraisal = appraisal
            continue
        checked = outcome.checked
        na = set(checked.na) if checked else set()
        excluded = set(not_applicable_codes(rubric, outcome.unit.kind, na))
        outcome.appraisal = appraisal
        outcome.appraisal_totals = compute_totals(rubric, appraisal.scores, outcome.unit.kind, na)
        outcome.appraisal_missing = tuple(appraisal_missing(rubric, appraisal, excluded))


def _match_by_delivery(results: list[FileResult], unit_results: list[UnitResult]) -> None:
    """Give each file that carries no identity to the commune it came from, so that its message
    lists it: the one whose return came in the same message, zip or folder (when only one did),
    else the one its file name names (code, or name in ASCII).

    PDFs, photos and Word files become that commune's attachments (or unmatched attachments, a
    warning). A return that could not be read (damaged, encrypted, …) came in a message or zip
    of one commune, or is named after it: its commune is told why it cannot be used. A folder is
    not enough for those: an office's inbox folder holds every commune's files.
    """
    by_code = {u.unit.code: u for u in unit_results}
    units_in_group: dict[str, set[str]] = {}
    for result in results:
        if result.kind == KIND_SELF and result.unit_code in by_code and result.group:
            units_in_group.setdefault(result.group, set()).add(result.unit_code)

    def sender_of(result: FileResult, by_group: bool) -> str | None:
        together = units_in_group.get(result.group, set()) if by_group else set()
        return next(iter(together)) if len(together) == 1 else _named_unit(result.name, unit_results)

    for result in results:
        if result.status != "attachment":
            continue
        what = ATTACHMENT_SUFFIXES.get(PurePath(result.name).suffix.lower(), "tài liệu")
        code = sender_of(result, by_group=True)
        if code is None:
            result.findings.append(make("file.attachment_unmatched", file=result.path, what=what))
            continue
        result.unit_code = code
        outcome = by_code[code]
        outcome.attachments.append(result)
        result.findings.append(make("file.attachment", file=result.path, what=what, unit=outcome.unit.committee))
    for result in results:  # a scan named after its commune tells whose message it was, too
        if result.status == "attachment" and result.unit_code and result.group:
            units_in_group.setdefault(result.group, set()).add(result.unit_code)
    for result in results:
        if result.status == "rejected" and not result.unit_code and result.kind == KIND_SELF:
            code = sender_of(result, by_group=" › " in result.path)
            if code is not None:
                result.unit_code = code
                result.findings.append(make("file.matched_by_delivery", file=result.path,
                                            unit=by_code[code].unit.committee))


def _named_unit(name: str, unit_results: list[UnitResult]) -> str | None:
    """The one unit a file name names: its code, else its name in ASCII (the longest name wins).

    A one-word proper name (“xã Thanh”) counts only with its kind (“xa-thanh”): alone it is too
    often an ordinary word of a file name (“Biên bản thanh tra”).
    """
    words = f"-{ascii_slug(PurePath(name).stem)}-"
    by_code = [o.unit.code for o in unit_results if f"-{ascii_slug(o.unit.code)}-" in words]
    if by_code:
        return by_code[0] if len(by_code) == 1 else None
    found: dict[str, int] = {}
    for outcome in unit_results:
        unit = outcome.unit
        bare = ascii_slug(unit.bare_name)
        for slug in (unit.slug, bare) if "-" in bare else (unit.slug,):
            if f"-{slug}-" in words:
                found[unit.code] = max(found.get(unit.code, 0), len(slug))
    if not found:
        return None
    best = max(found.values())
    winners = [code for code, length in found.items() if length == best]
    return winners[0] if len(winners) == 1 else None


def _supersede_older_workbooks(accepted: list[FileResult]) -> None:
    """A corrected council workbook replaces the old one as a commune's newer return does: of the
    files of one generated workbook (its template id), the newest by saved time counts and the
    older ones are superseded, naming the newer. Files saved at the same time both stay current:
    where they disagree, that is a conflict (merge_appraisals)."""
    by_workbook: dict[str, list[FileResult]] = {}
    for result in accepted:
        key = result.identity.get("template_id")
        if key:
            by_workbook.setdefault(key, []).append(result)
    for files in by_workbook.values():
        files.sort(key=_sort_key)
        newest = files[-1]
        when = local_time(newest.modified, newest.mtime)
        for old in files[:-1]:
            if (old.modified and newest.modified and old.modified == newest.modified) or \
                    _sort_key(old)[:2] == _sort_key(newest)[:2]:
                continue  # saved at the same time as the newest: both current
            old.status = "superseded"
            old.findings.insert(0, make("appraisal.superseded", file=old.path, newer=newest.path, time=when))


def _rank(unit_results: list[UnitResult], rubric: Rubric) -> None:
    for outcome, ranked in zip(unit_results, rank_units(unit_results, rubric)):
        outcome.rank, outcome.group = ranked.rank, ranked.group
        outcome.ranking_group, outcome.group_note = ranked.ranking_group, ranked.note


def assign_files(results: list[FileResult], rubric: Rubric, units: list[Unit],
                 period: Period | None = None) -> tuple[Period | None, str, list[UnitResult]]:
    """Settle every read file: duplicates, identity, newest per unit, appraisals, ranks.

    Returns the period (given, or the one most files carry), the template set (batch) most
    self-assessments carry and one UnitResult per unit, in the order of `units`.
    """
    _mark_duplicates(results)
    period = period or _majority_period(results)
    batch = _majority_batch(results)
    _identify(results, rubric, units, period, batch)
    unit_results = _assign(results, units)
    _match_by_delivery(results, unit_results)
    _merge_appraisals(results, unit_results, rubric, units)
    _rank(unit_results, rubric)
    return period, batch, unit_results


def local_time(modified: datetime | None, mtime: float = 0.0) -> str:
    """A saved time as findings show it (local time); "không rõ" for one no clock can show."""
    try:
        when = modified or datetime.fromtimestamp(mtime, timezone.utc)
        return when.astimezone().strftime("%d/%m/%Y %H:%M")
    except (OverflowError, ValueError, OSError):
        return "không rõ"
