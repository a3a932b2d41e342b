"""`cchc demo`: the whole job on bundled SAMPLE data (samples/): a fictional district of 15
communes on hai-duong-2022, three of them carrying the real scores of seeds 003, 000 and 004.

It generates the templates, fills them as communes would (with their typical mistakes), puts the
returns in an inbox the way email and Zalo deliver them, harvests, ranks and writes the reports.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import yaml

from cchc_xls.errors import CchcError
from cchc_xls.appraise import write_appraisal_workbooks
from cchc_xls.explanation_write import write_explanation_workbooks, write_round2_workbooks
from cchc_xls.generate import Entries, Options, generate_templates, render_template
from cchc_xls.layout import (
    APPRAISAL_SHEET, APPRAISAL_UNIT_LAYOUT, EXPLANATION_LAYOUT, HEADER_SCAN_ROWS, ROUND2_LAYOUT, SURVEY_LAYOUT,
    SURVEY_SHEET,
)
from cchc_xls.numbers import to_decimal
from cchc_xls.feedback import parse_deadline
from cchc_xls.pipeline import HarvestOutputs, run_harvest
from cchc_xls.profile import OfficeProfile
from cchc_xls.report import Reports, write_reports
from cchc_xls.results import load_results
from cchc_xls.resources import data_dir
from cchc_xls import rounds
from cchc_xls.rounds import ROUND_FILE, RoundSettings, save_round
from cchc_xls.rubric import Rubric, load_rubric
from cchc_xls.units import Unit, load_units, parse_period

SAMPLE_OFFICE = "Phòng Nội vụ huyện Mẫu (dữ liệu mẫu)"
SAMPLE_DEADLINE = "15/12/2024"
SAMPLE_EXPLANATION_DEADLINE = "10/01/2025"
SAMPLE_ISSUER = "UBND huyện Mẫu (dữ liệu mẫu)"
SAMPLE_PROFILE = OfficeProfile(issuer=SAMPLE_ISSUER, office=SAMPLE_OFFICE, place="Mẫu")
UNITS_COPY = "don-vi.csv"


@dataclass(frozen=True)
class DemoOutputs:
    out_dir: Path
    templates: Path
    inbox: Path
    harvest: HarvestOutputs  # the communes' returns alone: provisional ranking
    reports: Reports
    appraisal: Path  # the council's workbooks, filled (round 1, and round 2 once explained)
    final: HarvestOutputs  # returns + appraisal + survey + explanations + round 2: final ranking
    explanation: Path | None = None  # the explanation workbooks sent to the communes, and messages.txt
    round2: Path | None = None  # the council's round-2 workbooks as written (blank)


def _sample_paths() -> tuple[Path, Path]:
    folder = data_dir("samples")
    units, scores = folder / "don-vi-mau.csv", folder / "diem-mau.yaml"
    if not units.is_file() or not scores.is_file():
        raise CchcError.of("demo.samples_missing", folder=folder)
    return units, scores


def _entries(data: dict, rubric: Rubric, saved_at: datetime) -> Entries:
    scores = {str(k): to_decimal(v) for k, v in (data.get("scores") or {}).items()}
    return Entries(
        scores=dict(scores),
        evidence={str(k): str(v) for k, v in (data.get("evidence") or {}).items()},
        explanations={str(k): str(v) for k, v in (data.get("explanations") or {}).items()},
        saved_at=saved_at,
    )


def _apply_problems(entries: Entries, problems: list[dict], rubric: Rubric) -> None:
    """The typical mistakes a commune makes, as declared in the sample file."""
    for problem in problems:
        kind, code = problem.get("type"), str(problem.get("code", ""))
        if kind == "text_score":
            entries.scores[code] = str(problem["text"])
        elif kind == "above_max":
            entries.scores[code] = to_decimal(problem["value"])
        elif kind == "missing_evidence":
            entries.evidence.pop(code, None)
        elif kind == "wrong_total":
            area = rubric.areas()[0]
            exact = sum((to_decimal(v) for c, v in entries.scores.items()
                         if not isinstance(v, str) and c in {leaf.code for leaf in area.leaves()}), Decimal(0))
            entries.typed_subtotals[area.code] = min(area.max, exact + Decimal("0.75"))


def _earlier_draft(entries: Entries) -> Entries:
    """The first, incomplete version a commune sent before the final one."""
    codes = list(entries.scores)
    kept = {c: entries.scores[c] for c in codes[: len(codes) // 2]}
    return Entries(scores=kept, evidence={c: e for c, e in entries.evidence.items() if c in kept},
                   saved_at=entries.saved_at - timedelta(days=2) if entries.saved_at else None)


def run_demo(out_dir: Path) -> DemoOutputs:
    units_path, scores_path = _sample_paths()
    sample = yaml.safe_load(scores_path.read_text(encoding="utf-8"))
    rubric = load_rubric(sample.get("rubric", "hai-duong-2022"))
    period = parse_period(str(sample.get("period", "2024")))
    units = load_units(units_path)
    _prepare(out_dir)
    templates_dir = out_dir / rounds.TEMPLATES
    inbox = out_dir / rounds.INBOX
    results_dir = out_dir / rounds.SELF_RESULTS
    final_dir = out_dir / rounds.FINAL_RESULTS
    reports_dir = out_dir / rounds.REPORTS
    generated = generate_templates(rubric, units, period, templates_dir, profile=SAMPLE_PROFILE, deadline=SAMPLE_DEADLINE)
    options = Options(office=SAMPLE_OFFICE, deadline=SAMPLE_DEADLINE, batch=generated.batch,
                      generated_at=datetime.now(timezone.utc).replace(microsecond=0).isoformat())

    inbox.mkdir(parents=True)
    zalo = inbox / "Zalo"
    zalo.mkdir()
    communes = sample.get("communes") or {}
    base_time = datetime(period.year, 12, 1, 8, 30, tzinfo=timezone.utc)
    zipped: list[Path] = []
    mailed: list[tuple[Unit, Path, datetime]] = []
    for index, unit in enumerate(units):
        data = communes.get(unit.code) or {}
        problems = data.get("problems") or []
        if any(p.get("type") == "sends_nothing" for p in problems):
            continue
        entries = _entries(data, rubric, base_time + timedelta(hours=index * 5))
        _apply_problems(entries, problems, rubric)
        final = _returned_name(unit, index)
        if any(p.get("type") == "sent_twice" for p in problems):
            draft = _earlier_draft(entries)
            render_template(inbox / f"{unit.code} ban nhap.xlsx", rubric, unit, period, options, draft)
        target = (zalo if index % 3 == 0 else inbox) / final
        render_template(target, rubric, unit, period, options, entries)
        if index % 3 == 0:
            zipped.append(target)
        elif index % 3 == 1 and not problems:  # by e-mail, with the signed scan
            mailed.append((unit, target, base_time + timedelta(hours=index * 5, minutes=20)))
    _zip_and_remove(zipped, inbox / "Zalo_tep_nhan.zip")
    zalo.rmdir()
    _mailbox(mailed, inbox / "Thunderbird_Hop-thu-den.mbox")
    (inbox / "~$Phu luc CCHC.xlsx").write_bytes(b"temporary lock file of an open workbook")

    feedback = {"deadline": parse_deadline(SAMPLE_DEADLINE)}
    harvest = run_harvest(rubric, [inbox], units, results_dir, period=period, profile=SAMPLE_PROFILE, **feedback)
    appraisal_dir = out_dir / rounds.APPRAISAL
    outputs = write_appraisal_workbooks(results_dir, appraisal_dir, by="unit")
    _fill_appraisals(outputs, results_dir, sample.get("appraisal") or {})
    # the explanation round: the communes the council cut explain by e-mail, the council decides
    # again; the harvests between the steps are working copies, only the last one is kept
    plan = sample.get("appraisal") or {}
    explanation_dir, round2_dir = out_dir / EXPLANATION_FOLDER, out_dir / ROUND2_FOLDER
    with tempfile.TemporaryDirectory(prefix="cchc-demo-") as work:
        round1, explained_dir = Path(work) / "lan-1", Path(work) / "giai-trinh"
        run_harvest(rubric, [inbox, appraisal_dir], units, round1, period=period, profile=SAMPLE_PROFILE, **feedback)
        explained = write_explanation_workbooks(round1, explanation_dir, deadline=SAMPLE_EXPLANATION_DEADLINE)
        _explain(explained, plan.get("replies") or {}, {u.code: u for u in units}, inbox,
                 base_time + timedelta(days=20))
        run_harvest(rubric, [inbox, appraisal_dir], units, explained_dir, period=period, profile=SAMPLE_PROFILE,
                    **feedback)
        second = write_round2_workbooks(explained_dir, round2_dir, by="unit")
        _fill_round2(second, load_results(explained_dir), plan.get("round2") or {}, appraisal_dir)
    final = run_harvest(rubric, [inbox, appraisal_dir], units, final_dir, period=period, profile=SAMPLE_PROFILE,
                        **feedback)
    reports = write_reports(final_dir, reports_dir)
    _write_round_file(out_dir, units_path, sample.get("rubric", "hai-duong-2022"), period.key)
    return DemoOutputs(out_dir, templates_dir, inbox, harvest, reports, appraisal_dir, final, explanation_dir, round2_dir)


def _explain(explained, replies: dict, units: dict, inbox: Path, when: datetime) -> None:
    """The communes at work: each types its explanation and supplementary evidence into the
    workbook it received and sends it back by e-mail with a scan (one mailbox in the inbox)."""
    from openpyxl import load_workbook

    mailed = []
    for code, path in zip(explained.units, explained.workbooks):
        texts = replies.get(code)
        if not texts:
            continue  # agrees with the council: sends nothing back
        workbook = load_workbook(path)
        sheet = workbook[EXPLANATION_LAYOUT.sheets[0]]
        header, columns = layout_columns(sheet, EXPLANATION_LAYOUT, ("code", "reply", "supplement"))
        for row in range(header + 1, sheet.max_row + 1):
            criterion = sheet.cell(row, columns["code"]).value
            if criterion in texts:
                sheet.cell(row, columns["reply"]).value, sheet.cell(row, columns["supplement"]).value = texts[criterion]
        target = inbox / path.name
        workbook.save(target)
        mailed.append((units[code], target, when + timedelta(hours=len(mailed))))
    _mailbox(mailed, inbox / "Thunderbird_Giai-trinh.mbox", "gửi bảng giải trình kết quả thẩm định")


def _fill_round2(second, results, plan: dict, appraisal_dir: Path) -> None:
    """The council's second appraisal: a criterion in the plan gets the commune's self score back,
    with the comment; the others stay blank (round 1's score is kept)."""
    from openpyxl import load_workbook

    scores = {u.code: u.scores for u in results.units}
    for code, path in zip(second.units, second.workbooks):
        workbook = load_workbook(path)
        sheet = workbook[ROUND2_LAYOUT.sheets[0]]
        header, columns = layout_columns(sheet, ROUND2_LAYOUT, ("unit_code", "code", "round2", "round2_comment"))
        for row in range(header + 1, sheet.max_row + 1):
            unit, criterion = sheet.cell(row, columns["unit_code"]).value, sheet.cell(row, columns["code"]).value
            comment = (plan.get(unit) or {}).get(criterion)
            if comment and criterion in scores.get(unit, {}):
                sheet.cell(row, columns["round2"]).value = float(scores[unit][criterion])
                sheet.cell(row, columns["round2_comment"]).value = comment
        workbook.save(appraisal_dir / path.name)


EXPLANATION_FOLDER = rounds.EXPLANATION  # the explanation workbooks sent to the communes
ROUND2_FOLDER = rounds.ROUND2  # the council's round-2 workbooks as written; filled ones go to 4-tham-dinh
DEMO_FOLDERS = (*rounds.FOLDERS, "3-ket-qua", "4-bao-cao")  # the last two: folders of earlier versions of the demo
MARKER = ".cchc-demo"


def _prepare(out_dir: Path) -> None:
    """Re-runnable, but never at the cost of someone's files: only the demo's own folders go."""
    ours = set(DEMO_FOLDERS) | {MARKER, ROUND_FILE, UNITS_COPY}
    if out_dir.exists() and not (out_dir / MARKER).exists() and any(p.name not in ours for p in out_dir.iterdir()):
        raise CchcError.of("demo.folder_not_empty", folder=out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / MARKER).write_text("Thư mục kết quả chạy thử cchc demo (dữ liệu mẫu).\n", encoding="utf-8")
    for name in DEMO_FOLDERS:
        if (out_dir / name).exists():
            shutil.rmtree(out_dir / name)


def _write_round_file(out_dir: Path, units_path: Path, rubric_id: str, period: str) -> None:
    """dot.yaml and the units list beside the outputs: `cchc serve` opens the demo as a round."""
    shutil.copyfile(units_path, out_dir / UNITS_COPY)
    save_round(out_dir, RoundSettings(
        title="Chạy thử trên dữ liệu mẫu (huyện Mẫu)", rubric=rubric_id, units=UNITS_COPY, period=period,
        issuer=SAMPLE_ISSUER, office=SAMPLE_OFFICE, signer_title=SAMPLE_PROFILE.title, place="Mẫu",
        deadline=SAMPLE_DEADLINE, explanation_deadline=SAMPLE_EXPLANATION_DEADLINE))


def _fill_appraisals(outputs, results_dir: Path, plan: dict) -> None:
    """The council at work: the appraised score is the self score unless the plan changes it
    (with a comment); the province's survey scores go into the survey workbook."""
    from openpyxl import load_workbook

    scores = {u.code: u for u in load_results(results_dir).units}
    changes = plan.get("changes") or {}
    for path in outputs.workbooks:
        workbook = load_workbook(path)
        sheet = workbook[APPRAISAL_SHEET]
        header, columns = layout_columns(sheet, APPRAISAL_UNIT_LAYOUT, ("code", "appraisal", "comment"))
        code = path.name.split("_")[1]
        unit = scores[code]
        for row in range(header + 1, sheet.max_row + 1):
            criterion = sheet.cell(row, columns["code"]).value
            cell = sheet.cell(row, columns["appraisal"])
            if criterion not in unit.scores or cell.protection.locked:
                continue
            value, comment = (changes.get(code) or {}).get(criterion, (unit.scores[criterion], None))
            cell.value = float(to_decimal(value))
            if comment:
                sheet.cell(row, columns["comment"]).value = comment
        workbook.save(path)
    if outputs.survey is not None:
        workbook = load_workbook(outputs.survey)
        sheet = workbook[SURVEY_SHEET]
        survey = plan.get("survey") or {}
        header, columns = layout_columns(sheet, SURVEY_LAYOUT, ("unit_code",))
        codes = {sheet.cell(r, c).value: c for r in (header, header + 1) for c in range(1, sheet.max_column + 1)}
        for row in range(header + 1, sheet.max_row + 1):
            for criterion, value in (survey.get(sheet.cell(row, columns["unit_code"]).value) or {}).items():
                sheet.cell(row, codes[criterion]).value = float(to_decimal(value))
        workbook.save(outputs.survey)


def layout_columns(sheet, layout, keys) -> tuple[int, dict[str, int]]:
    """The header row of `layout` in an openpyxl sheet, and the column of each of `keys`, found
    by the header texts (the demo's clerks and council, and the tests', fill workbooks with it)."""
    wanted = {layout.header(key): key for key in keys}
    for row in sheet.iter_rows(min_row=1, max_row=HEADER_SCAN_ROWS):
        found = {wanted[c.value]: c.column for c in row if c.value in wanted}
        if len(found) == len(wanted):
            return row[0].row, found
    raise CchcError.of("demo.no_header", sheet=sheet.title)


def _returned_name(unit: Unit, index: int) -> str:
    """File names as they come back: renamed, without diacritics, with copy numbers."""
    styles = [
        "Phu luc CCHC {code}.xlsx",
        "Phu luc CCHC (1).xlsx",
        "{slug}-tu-cham-2024.xlsx",
        "{code}_{slug}_CCHC_2024.xlsx",
    ]
    name = styles[index % len(styles)].format(code=unit.code, slug=unit.slug)
    return name if "(1)" not in name else f"{unit.code} {name}"


def _mailbox(mailed: list, path: Path, what: str = "gửi phiếu tự đánh giá CCHC") -> None:
    """The returns that came by e-mail, as Thunderbird exports a folder: one .mbox, one message per
    commune with its workbook and a signed scan (a stand-in PDF) attached."""
    from email.message import EmailMessage
    from email.utils import format_datetime

    with open(path, "wb") as handle:
        for unit, workbook, when in mailed:
            message = EmailMessage()
            message["From"] = f"Văn phòng {unit.committee} <{unit.email or 'vanphong@example.com'}>"
            message["To"] = "noivu@example.com"
            message["Subject"] = f"{unit.committee} {what}"
            message["Date"] = format_datetime(when)
            message.set_content(f"Kính gửi {SAMPLE_OFFICE},\n{unit.committee} gửi phiếu tự đánh giá và bản ký số.")
            message.add_attachment(workbook.read_bytes(), maintype="application",
                                   subtype="vnd.openxmlformats-officedocument.spreadsheetml.sheet", filename=workbook.name)
            scan = (f"%PDF-1.4\n% DU LIEU MAU: ban ky so cua {unit.slug}\n1 0 obj\n<< /Type /Catalog >>\nendobj\n"
                    "trailer\n<< /Root 1 0 R >>\n%%EOF\n").encode("ascii")
            message.add_attachment(scan, maintype="application", subtype="pdf", filename="Bản ký số.pdf")
            handle.write(b"From - " + when.strftime("%a %b %d %H:%M:%S %Y").encode("ascii") + b"\n")
            handle.write(re.sub(rb"(?m)^From ", b">From ", bytes(message).replace(b"\r\n", b"\n")) + b"\n")
            workbook.unlink()


def _zip_and_remove(files: list[Path], archive: Path) -> None:
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in files:
            zf.write(path, f"Zalo Received Files/{path.name}")
            path.unlink()
