"""The one place where the page calls the cchc_xls library.

Every stage the page runs goes through here, with the round's folder layout (cchc_xls.rounds),
so a change in the library's stages touches this module only.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cchc_xls.errors import CchcError, RubricError, UnitsError
from cchc_xls.findings import SEVERITY_LABEL, SEVERITY_ORDER
from cchc_xls.numbers import format_vn
from cchc_xls.layout import RANKING_LAYOUT
from cchc_xls.results import Results, UnitRow, load_results, ordered_for_ranking, ranking_sections
from cchc_xls import rounds
from cchc_xls.rounds import RoundSettings
from cchc_xls.rubric import Rubric, bundled_rubric_paths, load_rubric
from cchc_xls.score import area_share, not_applicable_codes
from cchc_xls.units import Unit, load_units, parse_period

RANKING_GROUP_HEADING = RANKING_LAYOUT.texts["ranking_group_heading"]  # "XẾP HẠNG RIÊNG:", as Phụ lục II
__all__ = ["CchcError", "Results", "UnitRow", "Rubric", "Unit", "RoundSettings", "SEVERITY_LABEL",
           "SEVERITY_ORDER", "format_vn", "ordered_for_ranking", "load_results",
           "ranking_sections", "RANKING_GROUP_HEADING", "area_share", "not_applicable_codes"]

UPLOADED_RUBRIC = "bo-tieu-chi.yaml"


@dataclass(frozen=True)
class Check:
    """The outcome of checking an uploaded file: the problems, each one line for the officer."""

    ok: bool
    problems: tuple[str, ...] = ()
    summary: str = ""


def bundled_rubrics() -> list[dict]:
    """The bundled rubrics, for the set-up form's choice."""
    items = []
    for path in bundled_rubric_paths():
        rubric = load_rubric(path)
        items.append({"id": rubric.id, "title": rubric.title, "total": format_vn(rubric.total),
                      "criteria": len(rubric.leaves()), "basis": rubric.legal_basis.describe()})
    return items


def round_rubric(folder: Path, settings: RoundSettings) -> Rubric:
    """The round's rubric: a file inside the round folder if it names one, else a bundled id."""
    if not settings.rubric:
        raise CchcError("Đợt này chưa chọn bộ tiêu chí: vào “Thiết lập” để chọn.")
    local = Path(folder) / settings.rubric
    return load_rubric(local if local.is_file() else settings.rubric)


def round_units(folder: Path, settings: RoundSettings) -> list[Unit]:
    """The round's units list, read and checked."""
    if not settings.units:
        raise CchcError("Đợt này chưa có danh sách đơn vị: vào “Thiết lập” để tải lên.")
    return load_units(Path(folder) / settings.units)


def check_units(path: Path) -> Check:
    """Read an uploaded units list; its problems one per row, as load_units words them."""
    try:
        units = load_units(path)
    except UnitsError as exc:
        lines = str(exc).split("\n- ")
        return Check(False, tuple(lines[1:]) or (lines[0],), lines[0].rstrip(":") if len(lines) > 1 else "")
    return Check(True, (), f"{len(units)} đơn vị")


def check_rubric_upload(path: Path, folder: Path) -> Check:
    """An uploaded rubric (.yaml, or a workbook made by `cchc rubric export`) saved into the
    round as bo-tieu-chi.yaml when it has no error; otherwise every problem by row."""
    from cchc_xls.rubric_xlsx import import_rubric, write_rubric_yaml

    target = Path(folder) / UPLOADED_RUBRIC
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        try:
            data, problems, findings = import_rubric(path)
        except CchcError as exc:
            return Check(False, (str(exc),))
        lines = [str(p) for p in problems] + [str(f) for f in findings if f.is_error]
        if lines:
            return Check(False, tuple(lines))
        write_rubric_yaml(data, target, path.name)
    else:
        try:
            load_rubric(path)
        except RubricError as exc:
            return Check(False, tuple(str(f) for f in exc.findings) or (str(exc),))
        except CchcError as exc:
            return Check(False, (str(exc),))
        target.write_bytes(path.read_bytes())
    rubric = load_rubric(target)
    return Check(True, (), f"{rubric.title} ({rubric.id}), {len(rubric.leaves())} tiêu chí")


def round_profile(settings: RoundSettings):
    """The office profile dot.yaml holds (issuer, office, signer_title, signer_name, place)."""
    from cchc_xls.profile import OfficeProfile

    return OfficeProfile(**{key: getattr(settings, key) for key in rounds.PROFILE_KEYS})


def generate(folder: Path, settings: RoundSettings):
    """`cchc generate` into 1-mau-gui-xa."""
    from cchc_xls.generate import generate_templates

    rubric, units = round_rubric(folder, settings), round_units(folder, settings)
    if not settings.period:
        raise CchcError("Đợt này chưa ghi kỳ đánh giá (ví dụ 2024): vào “Thiết lập”.")
    return generate_templates(rubric, units, parse_period(settings.period), Path(folder) / rounds.TEMPLATES,
                              profile=round_profile(settings), deadline=settings.deadline)


def harvest(folder: Path, settings: RoundSettings, *, with_appraisal: bool, progress=None):
    """`cchc harvest` of the inbox (and, with_appraisal, the council's returned workbooks), with the
    round's office and deadline in each commune's message (phan-hoi/)."""
    from cchc_xls.feedback import parse_deadline
    from cchc_xls.pipeline import run_harvest

    folder = Path(folder)
    rubric, units = round_rubric(folder, settings), round_units(folder, settings)
    inputs = [folder / rounds.INBOX]
    out = folder / rounds.SELF_RESULTS
    if with_appraisal:
        inputs += rounds.appraisal_inputs(folder)
        out = folder / rounds.FINAL_RESULTS
    (folder / rounds.INBOX).mkdir(parents=True, exist_ok=True)
    period = parse_period(settings.period) if settings.period else None
    # as many workers as the command line uses (same cost): in a threaded server the harvest starts
    # them with forkserver/spawn, never fork (process.py)
    return run_harvest(rubric, inputs, units, out, period=period, progress=progress,
                       deadline=parse_deadline(settings.deadline), profile=round_profile(settings))


def harvest_round(folder: Path, settings: RoundSettings, *, with_appraisal: bool, progress=None):
    """What the page's buttons run: the harvest, then Phụ lục II again with the office profile.

    A harvest of the self scores in a round already appraised also merges the appraisal again,
    so that the ranking shown (from 5-ket-qua-tham-dinh) never lags behind the inbox.
    """
    outputs = harvest(folder, settings, with_appraisal=with_appraisal, progress=progress)
    rank(outputs.out_dir, settings)
    if not with_appraisal and (Path(folder) / rounds.FINAL_RESULTS / "harvest.json").is_file():
        final = harvest(folder, settings, with_appraisal=True, progress=progress)
        rank(final.out_dir, settings)
    return outputs


def appraise(folder: Path, by: str, settings: RoundSettings | None = None):
    """`cchc appraise` of the self-score results into 4-tham-dinh/mau-trong, headed for the
    round's office profile as it is now (it may have been completed after the harvest)."""
    from cchc_xls.appraise import write_appraisal_workbooks

    source = Path(folder) / rounds.SELF_RESULTS
    if not (source / "harvest.json").is_file():
        raise CchcError("Chưa thu và kiểm tra phiếu tự chấm: vào bước “Nhận phiếu” trước.")
    return write_appraisal_workbooks(source, Path(folder) / rounds.APPRAISAL / rounds.APPRAISAL_BLANK, by=by,
                                     profile=round_profile(settings) if settings else None)


NO_APPRAISAL = ("Kết quả chưa có điểm thẩm định nào: nhận lại các bảng Hội đồng đã điền ở bước “Thẩm định” "
                "rồi bấm “Ghép điểm thẩm định”, sau đó lập bảng giải trình.")


def _final_results(folder: Path) -> Path:
    """5-ket-qua-tham-dinh, where the explanation round starts from; a clear message without it."""
    source = Path(folder) / rounds.FINAL_RESULTS
    if not (source / "harvest.json").is_file():
        raise CchcError("Chưa ghép điểm thẩm định lần 1: vào bước “Thẩm định”, nhận lại các bảng Hội đồng đã điền "
                        "và bấm “Ghép điểm thẩm định” trước.")
    return source


def _replace_written(staging: Path, target: Path, pattern: str) -> None:
    """Move what was written into `staging` into `target`, after removing the earlier set there
    (files matching `pattern`, and messages.txt): an earlier commune no longer listed must not stay."""
    target.mkdir(parents=True, exist_ok=True)
    for old in [*target.glob(pattern), target / "messages.txt"]:
        if old.is_file():
            old.unlink()
    for new in sorted(staging.iterdir()):
        os.replace(new, target / new.name)
    shutil.rmtree(staging, ignore_errors=True)


def _staged_write(folder: Path, target: str, pattern: str, write):
    """Run write(staging folder) and keep its files in the round's `target` folder only when all of
    it was written (a failed run leaves the earlier set whole)."""
    staging = Path(tempfile.mkdtemp(prefix=".dang-ghi-", dir=folder))
    try:
        outputs = write(staging)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _replace_written(staging, Path(folder) / target, pattern)
    return outputs


def explain(folder: Path, settings: RoundSettings) -> list[str]:
    """`cchc explain` of 5-ket-qua-tham-dinh into 7-giai-trinh, with the round's explanation
    deadline and office profile; the codes of the communes asked to explain (none: [])."""
    from cchc_xls.explanation_write import write_explanation_workbooks

    source = _final_results(folder)
    def write(out: Path):
        return write_explanation_workbooks(source, out, deadline=settings.explanation_deadline,
                                           profile=round_profile(settings))

    try:
        outputs = _staged_write(Path(folder), rounds.EXPLANATION, "giai-trinh_*.xlsx", write)
    except CchcError as exc:
        if exc.code == "explanation.no_appraisal":  # the library words it for the command line
            raise CchcError(NO_APPRAISAL) from exc
        raise
    return list(outputs.units)


def appraise_round2(folder: Path, by: str, settings: RoundSettings) -> int:
    """`cchc appraise --round 2` of 5-ket-qua-tham-dinh into 8-tham-dinh-lan-2 (by unit or by area);
    the number of workbooks written."""
    from cchc_xls.explanation_write import write_round2_workbooks

    source = _final_results(folder)
    def write(out: Path):
        return write_round2_workbooks(source, out, by=by, profile=round_profile(settings))

    outputs = _staged_write(Path(folder), rounds.ROUND2, "tham-dinh-lan-2_*.xlsx", write)
    return len(outputs.workbooks)


def disputed_codes(results: Results, unit: UnitRow) -> list[str]:
    """The criteria of a commune that go to the explanation round (explanation_write's rule)."""
    from cchc_xls.explanation_write import disputed_codes as codes

    return codes(results, unit)


def rank(results_dir: Path, settings: RoundSettings):
    """`cchc rank`: rebuild phu-luc-ii.xlsx and phu-luc-ii.docx for the round's office profile."""
    from cchc_xls.pipeline import run_rank

    return run_rank(Path(results_dir), profile=round_profile(settings))


def reports(folder: Path, results_dir: Path, settings: RoundSettings):
    """`cchc report` into 6-bao-cao."""
    from cchc_xls.report import write_reports

    return write_reports(Path(results_dir), Path(folder) / rounds.REPORTS, profile=round_profile(settings))


def feedback_message(results_dir: Path, unit: UnitRow) -> str | None:
    """The message the harvest wrote for this commune (phan-hoi/<code>_<slug>.txt), or None when
    that harvest wrote none (an earlier version, or a folder edited by hand)."""
    from cchc_xls.feedback import FEEDBACK_DIR, feedback_file_name

    path = Path(results_dir) / FEEDBACK_DIR / feedback_file_name(Unit(unit.code, unit.name, unit.kind))
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
