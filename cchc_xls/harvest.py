"""Harvest: every returned file (files, folders, nested zips) -> checked results per unit.

`harvest(...)` orchestrates the data flow: inputs.py collects the inputs, process.py reads and
checks each file (in parallel worker processes), assign.py identifies each file's unit by the
identity stored at generation, keeps the newest file per unit, merges appraisals and ranks. It
returns a frozen Harvest. Nothing here writes outputs besides the received/ copies
(consolidate.py writes the rest).
"""

from __future__ import annotations

import os
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from cchc_xls.assign import UnitResult, assign_files
from cchc_xls.evidence import add_evidence_findings
from cchc_xls.findings import Finding, make
from cchc_xls.inputs import Item, collect_inputs, safe_name
from cchc_xls.limits import DEFAULT_LIMITS, Limits
from cchc_xls.outputs import copy_verified
from cchc_xls.process import FileResult, process_items
from cchc_xls.rubric import Rubric, bundled_rubric_paths
from cchc_xls.score import final_ranking, submission_counts
from cchc_xls.units import Period, Unit

__all__ = ["FileResult", "Harvest", "Item", "UnitResult", "harvest"]


@dataclass(frozen=True)
class Harvest:
    rubric: Rubric
    period: Period | None
    units: tuple[UnitResult, ...]
    files: tuple[FileResult, ...]
    batch: str = ""
    notices: tuple[Finding, ...] = ()  # the office's own mistakes, said once for the whole run

    @property
    def usable(self) -> bool:
        """Whether anything at all could be used: a return, an appraisal or a survey counted."""
        return any(f.status == "accepted" for f in self.files)

    @property
    def appraised(self) -> bool:
        """Final ranking: every submitted unit has a complete appraisal."""
        return final_ranking(self.units)

    def findings(self) -> list[Finding]:
        return [f for file in self.files for f in file.findings]

    def counts(self) -> dict[str, int]:
        findings = self.findings()
        return {
            **submission_counts((u.status for u in self.units), (f.status for f in self.files)),
            "errors": sum(1 for f in findings if f.severity == "error"),
            "warnings": sum(1 for f in findings if f.severity == "warning" and not f.for_council),
            "suggestions": sum(1 for f in findings if f.for_council),  # evidence read for the council
        }


# ---------------------------------------------------------------------------------------------
# The whole harvest


def harvest(rubric: Rubric, inputs: list[Path], units: list[Unit], *, period: Period | None = None,
            received_dir: Path | None = None, workers: int | None = None, progress=None,
            limits: Limits = DEFAULT_LIMITS, exclude: set[str] = frozenset()) -> Harvest:
    """Read, check, identify every input; keep the newest accepted file per unit.

    `exclude` holds real paths never collected (the harvest's own outputs); `limits` the budgets."""
    with tempfile.TemporaryDirectory(prefix="cchc-harvest-", ignore_cleanup_errors=True) as staging:
        items = collect_inputs(inputs, Path(staging), limits, exclude)
        if progress is not None and hasattr(progress, "start"):
            progress.start(len(items))
        kinds = {u.code: u.kind for u in units}
        workers = workers if workers is not None else min(os.cpu_count() or 1, 8)
        try:
            results = process_items(items, rubric, kinds, workers=workers, limits=limits, progress=progress)
        finally:
            if progress is not None and hasattr(progress, "finish"):
                progress.finish()  # the command line's bar ends its line before anything else prints
        if received_dir is not None:
            copy_received(items, results, received_dir)
    period, batch, unit_results = assign_files(results, rubric, units, period)
    add_evidence_findings(unit_results, results, rubric)  # the council's cross-commune evidence rules
    return Harvest(rubric, period, tuple(unit_results), tuple(results), batch, tuple(office_notices(results, rubric)))


GENERATE_FILES = {"manifest.csv", "messages.txt", "templates.zip"}  # what `cchc generate` writes beside the templates


def office_notices(results: list[FileResult], rubric: Rubric) -> list[Finding]:
    """What the office itself should fix when nothing could be used, said once: an empty inbox,
    the office's own blank templates, files of another bundled rubric or another period. Each
    file's own "ask the commune" finding is then reworded for the office: re-sending would not help."""
    if any(f.status == "accepted" for f in results):
        return []
    spreadsheets = [f for f in results if f.status != "skipped"
                    and not any(x.code == "file.duplicate" for x in f.findings)]  # a zip of the same files
    if not spreadsheets:
        return [make("harvest.empty_inbox", skipped=len(results))]
    rubrics = Counter(f.identity.get("rubric_id") for f in spreadsheets
                      if any(x.code == "identity.other_rubric" for x in f.findings))
    bundled = {path.stem for path in bundled_rubric_paths()}
    if rubrics:
        found, count = rubrics.most_common(1)[0]
        if found in bundled or len(rubrics) == 1:
            _reword(spreadsheets, "identity.other_rubric", "identity.chosen_rubric")
            return [make("harvest.wrong_rubric", expected=rubric.id, found=found, count=count)]
    periods = Counter(f.identity.get("period") for f in spreadsheets
                      if any(x.code == "identity.other_period" for x in f.findings))
    if periods:
        found, count = periods.most_common(1)[0]
        _reword(spreadsheets, "identity.other_period", "identity.chosen_period")
        return [make("harvest.wrong_period", found=found, count=count)]
    blank = [f for f in spreadsheets if any(x.code == "file.empty" for x in f.findings)]
    # the office's own generate folder (its manifest, messages, zip beside the templates), or
    # several communes' blank forms at once; one commune's unfilled form is that commune's
    generated = any(Path(f.name).name in GENERATE_FILES for f in results)
    if blank and len(blank) == len(spreadsheets) and (generated or len(blank) >= 2):
        _reword(spreadsheets, "file.empty", "file.blank_template")
        return [make("harvest.blank_templates", count=len(blank))]
    return [make("harvest.nothing_usable", count=len(spreadsheets))]


def _reword(results: list[FileResult], code: str, office_code: str) -> None:
    for result in results:
        result.findings = [make(office_code, **_params(x)) if x.code == code else x for x in result.findings]


def _params(finding: Finding) -> dict:
    return {"file": finding.file, "sheet": finding.sheet, "cell": finding.cell}


def copy_received(items: list[Item], results: list[FileResult], received_dir: Path) -> None:
    """A copy of every input read, named by its SHA-256 prefix and original name: nothing is lost.

    Each copy is written whole (via .part) from the staged bytes the checks read; a copy an
    earlier run left truncated is detected (size, digest) and written again."""
    received_dir.mkdir(parents=True, exist_ok=True)
    for item, result in zip(items, results):
        if not item.sha256 or not result.sha256:
            continue
        name = f"{item.sha256[:12]}_{safe_name(item.name)}"
        copy_verified(item.source, received_dir / name, item.sha256, item.size)
        result.received = name
