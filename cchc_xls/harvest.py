"""Harvest: every returned file (files, folders, nested zips) -> checked results per unit.

`harvest(...)` collects the inputs, reads and checks each file (in parallel worker processes),
identifies each file's unit by the identity stored at generation, keeps the newest file per
unit and returns a frozen Harvest. Nothing here writes outputs (consolidate.py does).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import zipfile
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from cchc_xls.appraise import UnitAppraisal, appraisal_missing, merge_appraisals, read_appraisal
from cchc_xls.check import Checked, check_return
from cchc_xls.findings import Finding, make
from cchc_xls.layout import KIND_APPRAISAL_AREA, KIND_APPRAISAL_UNIT, KIND_LABELS, KIND_SELF, KIND_SURVEY
from cchc_xls.read import read_return
from cchc_xls.rubric import Rubric
from cchc_xls.score import Totals, compute_totals, final_ranking, not_applicable_codes, rank_units
from cchc_xls.units import Period, Unit
from cchc_xls.workbook import WorkbookError, check_zip

APPRAISAL_KINDS = (KIND_APPRAISAL_UNIT, KIND_APPRAISAL_AREA, KIND_SURVEY)
SPREADSHEET_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".ods"}
SENT_INSTEAD = {
    ".pdf": "tệp PDF", ".doc": "tệp Word", ".docx": "tệp Word", ".odt": "tệp văn bản",
    ".jpg": "ảnh chụp", ".jpeg": "ảnh chụp", ".png": "ảnh chụp", ".heic": "ảnh chụp",
}
MAX_FILE_BYTES = 50 * 1024 * 1024
MAX_ZIP_DEPTH = 3
REJECTING_SKIPS = {"file.zip_bomb", "file.archive_damaged", "file.xml_entities", "file.too_large", "file.not_spreadsheet"}


@dataclass
class Item:
    """One input as the user gave it (a file, or a member of a zip)."""

    display: str  # as the user recognises it: "inbox/Zalo.zip › Phu luc CCHC (1).xlsx"
    source: Path  # where the bytes are (the original, or an extracted copy in a temp folder)
    name: str  # original base name
    skip: Finding | None = None
    mtime: float = 0.0


@dataclass
class FileResult:
    path: str
    name: str
    sha256: str = ""
    status: str = "rejected"  # accepted | superseded | rejected | skipped
    unit_code: str | None = None
    identity: dict = field(default_factory=dict)
    modified: datetime | None = None
    mtime: float = 0.0
    received: str | None = None
    checked: Checked | None = None
    kind: str = KIND_SELF
    appraisal_entries: list = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)


@dataclass
class UnitResult:
    unit: Unit
    status: str = "missing"  # submitted | missing | rejected
    file: FileResult | None = None
    rank: int | None = None
    group: str | None = None
    appraisal: UnitAppraisal | None = None
    appraisal_totals: Totals | None = None
    appraisal_missing: tuple[str, ...] = ()

    @property
    def appraisal_complete(self) -> bool:
        return self.appraisal_totals is not None and not self.appraisal_missing

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


@dataclass(frozen=True)
class Harvest:
    rubric: Rubric
    period: Period | None
    units: tuple[UnitResult, ...]
    files: tuple[FileResult, ...]
    batch: str = ""

    @property
    def appraised(self) -> bool:
        """Final ranking: every submitted unit has a complete appraisal."""
        return final_ranking(self.units)

    def findings(self) -> list[Finding]:
        return [f for file in self.files for f in file.findings]

    def counts(self) -> dict[str, int]:
        statuses = Counter(f.status for f in self.files)
        findings = self.findings()
        return {
            "received": len(self.files),
            "accepted": statuses["accepted"],
            "rejected": statuses["rejected"],
            "superseded": statuses["superseded"],
            "skipped": statuses["skipped"],
            "missing": sum(1 for u in self.units if u.status == "missing"),
            "errors": sum(1 for f in findings if f.severity == "error"),
            "warnings": sum(1 for f in findings if f.severity == "warning"),
        }


# ---------------------------------------------------------------------------------------------
# Collecting inputs


def collect_inputs(inputs: list[Path], staging: Path) -> list[Item]:
    """Expand folders (recursively) and zip archives (nested) into items, in a stable order."""
    items: list[Item] = []
    for path in inputs:
        path = Path(path)
        if path.is_dir():
            for child in sorted(p for p in path.rglob("*") if p.is_file()):
                relative = child.relative_to(path)
                if any(part.startswith(".") for part in relative.parts[:-1]):
                    items.append(Item(str(child), child, child.name, make("file.skipped_hidden", file=str(child))))
                    continue
                _add_file(child, str(child), items, staging, depth=0)
        elif path.is_file():
            _add_file(path, str(path), items, staging, depth=0)
    return items


def _add_file(path: Path, display: str, items: list[Item], staging: Path, depth: int) -> None:
    name = path.name
    try:
        mtime = path.stat().st_mtime
        size = path.stat().st_size
    except OSError:
        mtime, size = 0.0, 0
    item = Item(display, path, name, mtime=mtime)
    suffix = path.suffix.lower()
    if name.startswith("~$"):
        item.skip = make("file.skipped_temp", file=display)
    elif name.startswith("."):
        item.skip = make("file.skipped_hidden", file=display)
    elif size > MAX_FILE_BYTES:
        item.skip = make("file.too_large", file=display, size=f"{size / 1024 / 1024:.0f}")
    elif suffix == ".zip" and not _is_workbook_zip(path):
        items.append(item)  # the archive itself is listed (and copied); its members follow
        item.skip = _expand_zip(path, display, items, staging, depth + 1)
        return
    elif suffix in SENT_INSTEAD:
        item.skip = make("file.not_spreadsheet", file=display, what=SENT_INSTEAD[suffix])
    elif suffix not in SPREADSHEET_SUFFIXES:
        item.skip = make("file.skipped_type", file=display, name=name)
    items.append(item)


def _is_workbook_zip(path: Path) -> bool:
    """A workbook renamed .zip is still a workbook."""
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
    except (zipfile.BadZipFile, OSError):
        return False
    return "xl/workbook.xml" in names or "mimetype" in names and "content.xml" in names


def _expand_zip(path: Path, display: str, items: list[Item], staging: Path, depth: int) -> Finding | None:
    """Extract a zip's members into the staging folder and add them; the zip's own finding."""
    first = len(items)
    if depth > MAX_ZIP_DEPTH:
        return make("file.archive_too_deep", file=display, depth=MAX_ZIP_DEPTH)
    try:
        with zipfile.ZipFile(path) as zf:
            check_zip(zf)
            target = Path(tempfile.mkdtemp(prefix="zip-", dir=staging))
            for index, info in enumerate(zf.infolist()):
                if info.is_dir():
                    continue
                member_name = _member_name(info)
                out = target / f"{index:05d}_{_safe_name(member_name)}"
                with zf.open(info) as src, open(out, "wb") as dst:
                    shutil.copyfileobj(src, dst, 1024 * 1024)
                member_time = datetime(*info.date_time).timestamp() if info.date_time[0] >= 1980 else 0.0
                os.utime(out, (member_time, member_time))
                inner_display = f"{display} › {member_name}"
                if any(part.startswith(".") or part == "__MACOSX" for part in member_name.split("/")):
                    items.append(Item(inner_display, out, Path(member_name).name,
                                      make("file.skipped_hidden", file=inner_display), member_time))
                    continue
                before = len(items)
                _add_file(out, inner_display, items, staging, depth)
                for added in items[before:]:
                    if added.source == out:
                        added.name = Path(member_name).name
                        added.mtime = member_time
    except WorkbookError as exc:
        return make(exc.code, file=display, **exc.params)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as exc:
        return make("file.archive_damaged", file=display, reason=" ".join(str(exc).split())[:120])
    return make("file.archive", file=display, count=len(items) - first)


def _member_name(info: zipfile.ZipInfo) -> str:
    """Zip member names from Windows tools are often cp437-mangled Vietnamese; repair when possible."""
    name = info.filename
    if not info.flag_bits & 0x800:
        try:
            name = name.encode("cp437").decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            pass
    return name


def _safe_name(name: str) -> str:
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    return "".join(c if c.isalnum() or c in "._- ()" else "_" for c in base)[:120] or "tep"


# ---------------------------------------------------------------------------------------------
# Reading and checking one file (runs in a worker process)


_WORKER: dict = {}


def _init_worker(rubric: Rubric, kinds: dict) -> None:
    """Each worker process receives the rubric once, not with every file."""
    _WORKER["rubric"], _WORKER["kinds"] = rubric, kinds


def _process_in_worker(item: Item) -> FileResult:
    return _process((item, _WORKER["rubric"], _WORKER["kinds"]))


def _process(args) -> FileResult:
    item, rubric, kinds = args
    result = FileResult(path=item.display, name=item.name, mtime=item.mtime)
    try:
        data = item.source.read_bytes()
    except OSError as exc:
        result.findings.append(make("file.damaged", file=item.display, reason=exc.strerror or str(exc)))
        return result
    result.sha256 = hashlib.sha256(data).hexdigest()
    if item.skip is not None:
        result.status = "rejected" if item.skip.code in REJECTING_SKIPS else "skipped"
        result.findings.append(item.skip)
        return result
    located = read_return(item.source, data, item.display)
    if isinstance(located, Finding):
        result.findings.append(located)
        return result
    result.identity = dict(located.identity)
    result.unit_code = located.identity.get("unit_code") or None
    result.modified = located.modified
    result.kind = located.kind
    result.findings.extend(located.findings)
    if located.has_macros:
        result.findings.append(make("file.macros", file=item.display))
    if located.kind in APPRAISAL_KINDS:
        entries, findings, _ = read_appraisal(located.book, located.identity, rubric, item.display)
        result.appraisal_entries = entries
        result.findings.extend(findings)
        result.status = "accepted"
        return result
    if located.kind != KIND_SELF:
        result.findings.append(make("identity.not_self", file=item.display, what=located.kind))
        return result
    other = located.identity.get("rubric_id")
    if other and other != rubric.id:  # checking it against this rubric would only say noise
        result.findings.insert(0, make("identity.other_rubric", file=item.display, found=other, expected=rubric.id))
        return result
    if located.rows:
        kind = kinds.get(result.unit_code)
        checked = check_return(located, rubric, kind)
        result.checked = checked
        if checked.entered == 0:  # a template sent back unfilled: one finding, not one per criterion
            result.findings.append(make("file.empty", file=item.display, sheet=located.sheet_name))
            result.findings.extend(f for f in checked.findings if f.code != "score.missing")
        else:
            result.findings.extend(checked.findings)
        checked.findings = []  # kept once, on the file
        checked.pack_texts()
    result.status = "accepted" if located.rows and not _fatal(result.findings) else "rejected"
    return result


def _fatal(findings) -> bool:
    return any(f.code in ("sheet.missing", "file.empty") for f in findings)


# ---------------------------------------------------------------------------------------------
# The whole harvest


def harvest(rubric: Rubric, inputs: list[Path], units: list[Unit], *, period: Period | None = None,
            received_dir: Path | None = None, workers: int | None = None, progress=None) -> Harvest:
    """Read, check, identify every input; keep the newest accepted file per unit."""
    with tempfile.TemporaryDirectory(prefix="cchc-harvest-") as staging:
        items = collect_inputs(inputs, Path(staging))
        if progress is not None and hasattr(progress, "start"):
            progress.start(len(items))
        kinds = {u.code: u.kind for u in units}
        workers = workers if workers is not None else min(os.cpu_count() or 1, 8)
        results: list[FileResult] = []
        if workers > 1 and len(items) >= 24:
            with ProcessPoolExecutor(max_workers=workers, initializer=_init_worker, initargs=(rubric, kinds)) as pool:
                for result in pool.map(_process_in_worker, items, chunksize=max(1, min(32, len(items) // (workers * 4)))):
                    results.append(result)
                    if progress:
                        progress(1)
        else:
            for item in items:
                results.append(_process((item, rubric, kinds)))
                if progress:
                    progress(1)
        if received_dir is not None:
            _copy_received(items, results, received_dir)
    _mark_duplicates(results)
    period = period or _majority_period(results)
    batch = _majority_batch(results)
    _identify(results, rubric, units, period, batch)
    unit_results = _assign(results, units)
    _merge_appraisals(results, unit_results, rubric, units)
    _rank(unit_results, rubric)
    return Harvest(rubric, period, tuple(unit_results), tuple(results), batch)


def _copy_received(items: list[Item], results: list[FileResult], received_dir: Path) -> None:
    """A copy of every input, named by its SHA-256 prefix and original name: nothing is lost."""
    received_dir.mkdir(parents=True, exist_ok=True)
    for item, result in zip(items, results):
        if not result.sha256:
            continue
        name = f"{result.sha256[:12]}_{_safe_name(item.name)}"
        target = received_dir / name
        if not target.exists():
            shutil.copyfile(item.source, target)
        result.received = name


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
    if result.kind == KIND_APPRAISAL_UNIT and result.unit_code not in names:
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
    modified = result.modified.timestamp() if result.modified else 0.0
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
            when = newest.modified or datetime.fromtimestamp(newest.mtime, timezone.utc)
            for old in older:
                old.status = "superseded"
                old.findings.insert(0, make("unit.superseded", file=old.path, newer=newest.path,
                                            time=when.astimezone().strftime("%d/%m/%Y %H:%M")))
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
    sources = [(r, r.appraisal_entries) for r in results if r.status == "accepted" and r.kind in APPRAISAL_KINDS]
    if not sources:
        return
    merged = merge_appraisals(sources, rubric, {u.code: u for u in units})
    for result, entries in sources:
        count = sum(1 for e in entries if e.value is not None)
        result.findings.append(make("appraisal.merged", file=result.path, count=count))
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


def _rank(unit_results: list[UnitResult], rubric: Rubric) -> None:
    for outcome, (_, rank, group) in zip(unit_results, rank_units(unit_results, rubric)):
        outcome.rank, outcome.group = rank, group
