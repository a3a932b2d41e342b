"""Findings: every problem the tool reports, as data, from one catalogue of Vietnamese messages.

A finding says where (file, sheet, cell or rubric node), what is wrong, and how to fix it.
Codes are stable identifiers (tests and harvest.json use them); messages are for people.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import Enum


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


SEVERITY_LABEL = {"error": "Lỗi", "warning": "Cảnh báo", "info": "Thông tin"}
SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}

E, W, I = Severity.ERROR, Severity.WARNING, Severity.INFO

# code -> (severity, message template). Templates use str.format fields.
CATALOGUE: dict[str, tuple[Severity, str]] = {
    # --- rubric files -------------------------------------------------------------------
    "rubric.unreadable": (E, "Không đọc được tệp bộ tiêu chí: {reason}. Kiểm tra tệp có đúng định dạng YAML, mã hóa UTF-8."),
    "rubric.not_mapping": (E, "{what} phải là một bảng khóa: giá trị (mapping), hiện là {got}."),
    "rubric.unknown_key": (E, "Khóa không hợp lệ “{key}” trong {what}: có thể viết sai chính tả. Các khóa được dùng: {allowed}."),
    "rubric.missing_key": (E, "Thiếu khóa bắt buộc “{key}” trong {what}."),
    "rubric.bad_value": (E, "Giá trị của “{key}” trong {what} không hợp lệ ({got}): {expected}."),
    "rubric.duplicate_code": (E, "Mã “{code}” bị trùng (đã dùng ở {first}). Mỗi tiêu chí phải có một mã riêng."),
    "rubric.missing_label": (E, "Tiêu chí “{code}” chưa có tên (label)."),
    "rubric.nonpositive_max": (E, "Điểm tối đa của “{code}” phải lớn hơn 0, hiện là {max}."),
    "rubric.parent_sum": (E, "Điểm tối đa của “{code}” là {max} nhưng tổng điểm tối đa các tiêu chí con là {sum}: sửa cho bằng nhau."),
    "rubric.total_sum": (E, "Tổng điểm khai báo (total) là {total} nhưng tổng điểm tối đa các lĩnh vực là {sum}."),
    "rubric.parent_scoring": (E, "“{code}” có tiêu chí con nên không được tự mang {key}: điểm của nó là tổng các tiêu chí con."),
    "rubric.level_above_max": (E, "Mức điểm {points} của “{code}” vượt điểm tối đa {max}."),
    "rubric.level_negative": (E, "Mức điểm {points} của “{code}” là số âm."),
    "rubric.level_duplicate": (E, "Mức điểm {points} của “{code}” bị lặp."),
    "rubric.step_invalid": (E, "Bước điểm {step} của “{code}” phải lớn hơn 0 và chia hết điểm tối đa {max}."),
    "rubric.levels_and_step": (E, "“{code}” khai báo cả mức điểm (levels) và bước điểm (step): chỉ dùng một trong hai."),
    "rubric.bad_kind": (E, "Loại đơn vị “{kind}” của “{code}” không hợp lệ; chỉ dùng: xã, phường, thị trấn."),
    "rubric.thresholds_order": (E, "Các mức xếp loại phải theo thứ tự ngưỡng giảm dần và mức cuối có ngưỡng 0; hiện là {got}."),
    "rubric.threshold_above_total": (E, "Ngưỡng {min} của mức “{name}” vượt tổng điểm {total}."),
    "rubric.empty_tree": (E, "Bộ tiêu chí chưa có lĩnh vực nào (tree rỗng)."),
    "rubric.bad_code": (E, "Mã “{code}” không hợp lệ: chỉ dùng chữ số, chữ cái La Mã in hoa và dấu chấm, ví dụ I, 1.1, II.2."),
}


@dataclass(frozen=True)
class Finding:
    """One problem, located as precisely as the input allows."""

    code: str
    severity: str
    message: str
    file: str | None = None
    sheet: str | None = None
    cell: str | None = None
    node: str | None = None

    def where(self) -> str:
        """The location as a person reads it: `file › Sheet!D37` or `file › I › 1.1`."""
        parts = []
        if self.file:
            parts.append(self.file)
        if self.sheet and self.cell:
            parts.append(f"{self.sheet}!{self.cell}")
        elif self.sheet:
            parts.append(self.sheet)
        if self.node:
            parts.append(self.node)
        return " › ".join(parts)

    def __str__(self) -> str:
        where = self.where()
        label = SEVERITY_LABEL[self.severity]
        return f"[{where}] {label}: {self.message}" if where else f"{label}: {self.message}"

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def is_error(self) -> bool:
        return self.severity == Severity.ERROR.value


def make(code: str, /, *, file=None, sheet=None, cell=None, node=None, **params) -> Finding:
    """Build a finding from the catalogue; `params` fill the message template."""
    severity, template = CATALOGUE[code]
    return Finding(
        code=code,
        severity=severity.value,
        message=template.format(**params),
        file=None if file is None else str(file),
        sheet=sheet,
        cell=cell,
        node=node,
    )


def has_errors(findings) -> bool:
    return any(f.is_error for f in findings)


def sort_findings(findings) -> list[Finding]:
    """Errors first, then warnings, then info; stable within each."""
    return sorted(findings, key=lambda f: SEVERITY_ORDER[f.severity])
