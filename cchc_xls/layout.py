"""The ONE description of the self-assessment workbook (Phụ lục I).

The writer (generate.py) and the reader (read.py) both import these names, so they cannot drift
apart. The reader never relies on fixed rows: it finds the header row by its texts and each
criterion by its code in the STT column; the columns here fix only what the writer produces.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAIN_SHEET = "Phụ lục I"
GUIDE_SHEET = "Hướng dẫn"
META_SHEET = "_cchc"  # very hidden: identity and drop-down lists

FORMAT_VERSION = "1"
KIND_SELF = "self"  # a commune's self-assessment template
KIND_APPRAISAL_UNIT = "appraisal-unit"  # the council's workbook for one commune
KIND_APPRAISAL_AREA = "appraisal-area"  # the council's workbook for one area, communes as columns
KIND_SURVEY = "survey"  # the province's survey scores, one row per commune
KIND_LABELS = {
    KIND_SELF: "phiếu tự đánh giá",
    KIND_APPRAISAL_UNIT: "bảng thẩm định theo đơn vị",
    KIND_APPRAISAL_AREA: "bảng thẩm định theo lĩnh vực",
    KIND_SURVEY: "bảng điểm điều tra",
}
APPRAISAL_SHEET = "Thẩm định"
SURVEY_SHEET = "Điều tra"
UNIT_COLUMN_LABEL = "Mã đơn vị:"  # heads each commune's columns in an appraisal-by-area sheet
SURVEY_CODE_HEADER = "Mã đơn vị"

NA_MARK = "Không áp dụng"
SURVEY_NOTE = "Điểm điều tra do tỉnh cung cấp (nhập ở bảng điều tra)"  # by-unit appraisal, survey rows
AREA_SURVEY_NOTE = "Do tỉnh cung cấp"  # the same note in the narrower by-area columns
NOT_SELF_SCORED_NOTE = "Tỉnh chấm (điều tra XHH/SIPAS), xã không tự chấm"


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    width: float


COLUMNS = (
    Column("code", "STT", 7),
    Column("label", "Lĩnh vực/Tiêu chí", 50),
    Column("max", "Điểm tối đa", 9),
    Column("score", "Điểm tự đánh giá", 10),
    Column("na", "Không áp dụng", 10),  # only when the rubric has criteria that may not apply
    Column("evidence", "Tài liệu kiểm chứng", 34),
    Column("explanation", "Nội dung giải trình", 28),
)
# The appraisal council's columns (appraisal workbooks by unit).
APPRAISAL_COLUMNS = (
    Column("appraisal", "Điểm thẩm định", 10),
    Column("percent", "Kết quả đạt được (%)", 10),
    Column("comment", "Ý kiến thẩm định", 30),
)
HEADERS = {c.key: c.header for c in COLUMNS + APPRAISAL_COLUMNS}
HEADER_KEYS = {c.header: c.key for c in COLUMNS + APPRAISAL_COLUMNS}

TOTAL_LABEL = "TỔNG ĐIỂM TỰ ĐÁNH GIÁ"
RESCALED_LABEL = "TỔNG ĐIỂM QUY ĐỔI VỀ THANG {total} ĐIỂM"
GROUP_LABEL = "Xếp loại (tạm tính theo điểm tự đánh giá)"
UNIT_CODE_LABEL = "Mã đơn vị:"
IDENTITY_LABEL = "Mã nhận diện (không sửa):"

# Identity keys, stored in the very hidden sheet (column A key, column B value), in the custom
# document properties (prefixed "cchc_") and, as one ASCII line, in a visible cell.
IDENTITY_KEYS = (
    "kind", "format", "rubric_id", "rubric_hash", "period", "unit_code", "unit_name",
    "template_id", "batch", "tool_version", "generated_at", "area",
)
PROPERTY_PREFIX = "cchc_"
VISIBLE_IDENTITY_KEYS = ("kind", "rubric_id", "rubric_hash", "period", "unit_code", "template_id", "batch", "area")
_IDENTITY_RE = re.compile(r"CCHC\[([^\]]*)\]")


def identity_line(identity: dict) -> str:
    """ASCII line for a visible cell: survives a copy of the sheet into a new workbook."""
    fields = ";".join(f"{k}={identity[k]}" for k in VISIBLE_IDENTITY_KEYS if identity.get(k))
    return f"CCHC[{fields}]"


def parse_identity_line(text: str) -> dict:
    match = _IDENTITY_RE.search(text or "")
    if not match:
        return {}
    result = {}
    for part in match.group(1).split(";"):
        key, _, value = part.partition("=")
        if key in IDENTITY_KEYS and value:
            result[key] = value.strip()
    return result


def column_letter(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def cell_ref(row: int, col: int) -> str:
    """Zero-based row and column to an A1 reference as Excel shows it."""
    return f"{column_letter(col)}{row + 1}"


def active_columns(has_na: bool) -> tuple[Column, ...]:
    return tuple(c for c in COLUMNS if c.key != "na" or has_na)
