"""Feedback after a harvest: one message per commune, ready to paste into Zalo or an e-mail.

`build_feedback(harvest, ...)` turns a Harvest into one `Feedback` per unit of the list: for a
commune whose return counts, what arrived, whether it counts and every problem of its files
with the sheet and the cell and what to do; for a commune that sent nothing usable, a reminder.
The texts come from `templates/phan-hoi.txt.j2` and `templates/nhac-nop.txt.j2`, so an office can
change the wording without code. `write_feedback` writes them as `DIR/phan-hoi/<code>_<slug>.txt`
(the folder whole or not at all) and `DIR/phan-hoi.csv` for a mail merge.
"""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from cchc_xls.assign import local_time
from cchc_xls.findings import Finding, make
from cchc_xls.inputs import ATTACHMENT_SUFFIXES
from cchc_xls.layout import KIND_EXPLANATION, KIND_SELF
from cchc_xls.numbers import format_vn
from cchc_xls.outputs import write_text_atomic
from cchc_xls.resources import render_text
from cchc_xls.units import Unit, format_date_vn, parse_deadline  # noqa: F401 - parse_deadline: callers import it here too

FEEDBACK_DIR = "phan-hoi"
FEEDBACK_CSV = "phan-hoi.csv"
CSV_COLUMNS = ("code", "name", "email", "phone", "status", "problems", "message_file", "message")
FEEDBACK_TEMPLATE = "phan-hoi.txt.j2"
REMINDER_TEMPLATE = "nhac-nop.txt.j2"
NO_ACTION_CODES = {"unit.superseded_other", "file.attachment"}
# More findings of one kind than this in a message are said once, with every cell: a return with
# no evidence at all is one line to act on, not 79.
GROUP_OVER = 5


@dataclass(frozen=True)
class Feedback:
    """One commune's message and what the mail merge needs to send it."""

    unit: Unit
    status: str  # the unit's status: submitted | rejected | missing
    reminder: bool  # True: the "send your return" message (nothing usable arrived)
    file_name: str  # <code>_<slug>.txt
    text: str
    problems: int  # errors and warnings the commune is asked to fix


def format_deadline(deadline: date | None) -> str:
    """dd/mm/yyyy, as the messages write it (units.format_date_vn: one form everywhere)."""
    return format_date_vn(deadline)


def feedback_file_name(unit: Unit) -> str:
    """`30512_xa-chi-minh.txt`: ASCII, like the template's own name."""
    return f"{unit.code}_{unit.slug}.txt"


def for_commune(finding: Finding) -> bool:
    """Whether a finding belongs in the commune's message: the appraisal council's suggestions
    (issue 19's reading of the evidence, `Finding.for_council`) do not; the return's own check
    that no evidence was written (evidence.missing) does."""
    return not finding.for_council


def problem_line(finding: Finding) -> str:
    """“Ô D30, trang “Phụ lục I”: message” — where first, in the words a clerk uses."""
    if finding.sheet and finding.cell:
        return f"Ô {finding.cell}, trang “{finding.sheet}”: {finding.message}"
    if finding.sheet:
        return f"Trang “{finding.sheet}”: {finding.message}"
    return finding.message


def problem_lines(findings: list[Finding]) -> list[str]:
    """One line per finding, except that a kind of problem found in more than GROUP_OVER cells is
    one line naming all its cells, with the first finding as the example."""
    by_code: dict[str, list[Finding]] = {}
    for finding in findings:
        by_code.setdefault(finding.code, []).append(finding)
    lines, said = [], set()
    for finding in findings:
        group = by_code[finding.code]
        if len(group) <= GROUP_OVER:
            lines.append(problem_line(finding))
        elif finding.code not in said:
            said.add(finding.code)
            cells = ", ".join(f.cell or f.node or "?" for f in group)
            lines.append(make("feedback.grouped", count=len(group), sheet_name=finding.sheet or "Phụ lục I", cells=cells,
                              example=problem_line(finding)).message)
    return lines


def received_text(file) -> str:
    """When a file arrived (the message's date, else the file's time), dd/mm/yyyy HH:MM local."""
    return local_time(file.received_at) if file.received_at else ""


def _attachment_what(name: str) -> str:
    return ATTACHMENT_SUFFIXES.get(Path(name).suffix.lower(), "tài liệu")


def _file_entry(file, counted) -> dict:
    """One file of the commune as the message lists it: name, when, from whom, outcome, problems."""
    problems = [f for f in file.findings if for_commune(f) and f.severity in ("error", "warning")]
    if file is counted:
        outcome, problems = "được tính", []  # its problems are listed once, below the files
    elif file.status == "attachment":
        outcome, problems = f"tài liệu kèm theo ({_attachment_what(file.name)}), đã lưu vào hồ sơ", []
    elif file.kind == KIND_EXPLANATION and file.status == "accepted":  # the explanation round (16.3)
        outcome = "bảng giải trình, đã ghép để Hội đồng thẩm định lần 2"
        if any(f.code == "explanation.without_round1" for f in file.findings):  # a harvest of the returns alone
            outcome = "bảng giải trình, đã nhận; được ghép cùng kết quả thẩm định để Hội đồng thẩm định lần 2"
    elif file.status == "superseded":
        outcome, problems = "không tính vì đơn vị đã gửi tệp mới hơn", []
    elif file.status == "skipped":
        outcome, problems = "trùng với tệp đã nhận, chỉ tính một lần", []
    else:
        outcome = "không dùng được"
        problems.sort(key=lambda f: f.severity != "error")
    return {"name": file.name, "path": file.path, "received": received_text(file),
            "sender": getattr(file, "sender", "") or "", "outcome": outcome,
            "problems": [problem_line(f) for f in problems]}


def unit_files(harvest) -> dict[str, list]:
    """Each unit's own files (its returns and explanation workbooks, in any state, and its
    attachments), in input order."""
    files: dict[str, list] = {}
    for file in harvest.files:
        if not file.unit_code:
            continue
        if file.status == "attachment" or file.kind in (KIND_SELF, KIND_EXPLANATION):
            files.setdefault(file.unit_code, []).append(file)
    return files


def build_feedback(harvest, *, deadline: date | None = None, office: str = "") -> list[Feedback]:
    """One message per unit of the list: feedback when its return counts, else a reminder."""
    files_of = unit_files(harvest)
    period = harvest.period
    messages = []
    for outcome in harvest.units:
        unit = outcome.unit
        counted = outcome.file if outcome.status == "submitted" else None
        files = [_file_entry(f, counted) for f in files_of.get(unit.code, [])]
        context = {
            "unit": unit, "period": period, "period_key": period.key if period else "",
            "period_label": period.label if period else "", "rubric": harvest.rubric,
            "office": office or "Phòng Nội vụ", "deadline": format_deadline(deadline),
            "files": files, "template_file": _template_name(unit, period),
        }
        if counted is not None:
            kept = [f for f in counted.findings if for_commune(f)]
            errors = problem_lines([f for f in kept if f.severity == "error"])
            warnings = problem_lines([f for f in kept if f.severity == "warning"])
            infos = [f for f in kept if f.severity == "info" and f.code not in NO_ACTION_CODES]
            context.update(counted=counted.name, errors=errors, warnings=warnings, infos=len(infos),
                           error_count=sum(1 for f in kept if f.severity == "error"),
                           warning_count=sum(1 for f in kept if f.severity == "warning"),
                           total=format_vn(outcome.self_total))
            text = render_text(FEEDBACK_TEMPLATE, **context)
            problems = sum(1 for f in kept if f.severity in ("error", "warning"))  # findings, not lines
        else:
            text = render_text(REMINDER_TEMPLATE, rejected=outcome.status == "rejected", **context)
            problems = sum(len(f["problems"]) for f in files)
        messages.append(Feedback(unit, outcome.status, counted is None, feedback_file_name(unit),
                                 _tidy(text), problems))
    return messages


def _template_name(unit: Unit, period) -> str:
    from cchc_xls.generate import template_file_name

    return template_file_name(unit, period) if period else ""


def _tidy(text: str) -> str:
    """At most one blank line in a row, and a final newline: the message pasted as it is."""
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


def write_feedback(harvest, out_dir: Path, *, deadline: date | None = None, office: str = "") -> dict[str, Path]:
    """Write DIR/phan-hoi/ (whole or not at all) and DIR/phan-hoi.csv; return both paths."""
    messages = build_feedback(harvest, deadline=deadline, office=office)
    folder = out_dir / FEEDBACK_DIR
    partial = out_dir / (FEEDBACK_DIR + ".part")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    try:
        for message in messages:
            (partial / message.file_name).write_text(message.text, encoding="utf-8")
        replace_folder(partial, folder)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    rows = [{
        "code": m.unit.code, "name": m.unit.name, "email": getattr(m.unit, "email", "") or "",
        "phone": getattr(m.unit, "phone", "") or "", "status": m.status, "problems": m.problems,
        "message_file": f"{FEEDBACK_DIR}/{m.file_name}", "message": m.text,
    } for m in messages]
    # a BOM so that Excel (and Word's mail merge through it) reads the Vietnamese names correctly
    table = write_text_atomic(out_dir / FEEDBACK_CSV, _csv_text(rows), encoding="utf-8-sig")
    return {"feedback": folder, "feedback_csv": table}


def replace_folder(partial: Path, folder: Path) -> None:
    """Swap a finished folder into place; the earlier one goes only once the new one is there."""
    old = folder.with_name(folder.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if folder.exists():
        os.replace(folder, old)
    os.replace(partial, folder)
    shutil.rmtree(old, ignore_errors=True)


def _csv_text(rows: list[dict]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(CSV_COLUMNS), lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: _csv_safe(value) for key, value in row.items()})
    return buffer.getvalue()


_PHONE = re.compile(r"^[+\-]?[\d .()\-]+$")


def _csv_safe(value) -> str:
    """A cell Excel cannot take for a formula (=, @, or + and - not starting a phone number)."""
    text = str(value)
    if text[:1] in ("=", "@", "\t", "\r") or (text[:1] in ("+", "-") and not _PHONE.match(text)):
        return "'" + text
    return text
