"""Reading and checking one file: Item -> FileResult (runs in a worker process for big batches)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime

from cchc_xls.appraise import read_appraisal
from cchc_xls.check import Checked, check_return
from cchc_xls.findings import Finding, make
from cchc_xls.inputs import Item
from cchc_xls.layout import KIND_APPRAISAL_AREA, KIND_APPRAISAL_UNIT, KIND_SELF, KIND_SURVEY
from cchc_xls.read import read_return
from cchc_xls.rubric import Rubric

APPRAISAL_KINDS = (KIND_APPRAISAL_UNIT, KIND_APPRAISAL_AREA, KIND_SURVEY)
REJECTING_SKIPS = {"file.zip_bomb", "file.archive_damaged", "file.xml_entities", "file.too_large", "file.not_spreadsheet"}


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


_WORKER: dict = {}


def init_worker(rubric: Rubric, kinds: dict) -> None:
    """Each worker process receives the rubric once, not with every file."""
    _WORKER["rubric"], _WORKER["kinds"] = rubric, kinds


def process_in_worker(item: Item) -> FileResult:
    """Read and check one item with the rubric this worker received at start."""
    return process_file((item, _WORKER["rubric"], _WORKER["kinds"]))


def process_file(args) -> FileResult:
    """Read and check one item: args is (item, rubric, unit kinds by code)."""
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
