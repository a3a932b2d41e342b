"""A corpus of bad and hostile returns (issue 7), built from generated templates, never committed.

    python tests/corpus.py OUT_DIR

writes OUT_DIR/units.csv (the communes of one district, hai-duong-2022, period 2024),
OUT_DIR/inbox/ (one file per case: what a Home Affairs mailbox really delivers) and
OUT_DIR/originals/ (the files the LibreOffice re-saves were made from), and prints the cases.
`build_corpus(out_dir)` returns the same cases as data: the file, the unit it belongs to (None
when nothing can say), the finding codes the harvest must report on it and the status it ends with.

Every binary is made here from a template `cchc generate` renders: damaged (truncated, random
bytes, a zip of photos, a Word file, a PDF, a photo, an empty and a half-filled template), hostile
(a zip bomb, XML entities, encryption, macros, formula-like evidence, a 32,767-character cell),
re-saved by LibreOffice (.xlsx, .xls, .ods), tampered (protection removed and a maximum raised,
a formula overwritten, rows inserted/deleted/reordered, another commune's file renamed, last
year's period and an older rubric) and typed (decimal comma, thousands separator, NFD, TCVN3, VNI).
"""

from __future__ import annotations

import io
import random
import re
import shutil
import sys
import unicodedata
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Callable

if __package__ in (None, ""):  # run as a script: the helpers beside this file
    sys.path.insert(0, str(Path(__file__).resolve().parent))

from openpyxl import load_workbook  # noqa: E402

from cchc_xls.generate import Entries, template_file_name  # noqa: E402
from cchc_xls.layout import MAIN_SHEET  # noqa: E402
from cchc_xls.rubric import load_rubric  # noqa: E402
from cchc_xls.units import Unit, parse_period  # noqa: E402

from support import CHI_MINH_SCORES, SOFFICE, libreoffice_convert, make_template, rows_by_code  # noqa: E402

D = Decimal
RUBRIC_ID = "hai-duong-2022"
PERIOD = "2024"
RUBRIC = load_rubric(RUBRIC_ID)
OLDER_RUBRIC_ID = "thai-nguyen-2021"
INBOX = "inbox"
ORIGINALS = "originals"
UNITS_FILE = "units.csv"
LEAF_MAX = {n.code: n.max for n in RUBRIC.leaves() if n.self_scored}

# Texts a commune may type that look like formulas: they must stay text everywhere.
FORMULA_LIKE = {
    "1.1.1": '=HYPERLINK("http://x","bấm")',
    "1.2": "=1+1",
    "1.4.1": "@SUM(A1:A9)",
    "2.1": "+cmd|' /C calc'!A0",
    "3.1.1": "-2+3",
}
LONG_EVIDENCE_CODE = "1.2"
LONG_EVIDENCE = ("Kế hoạch số 47/KH-UBND ngày 30/12/2022 của UBND xã về cải cách hành chính; " * 500)[:32767 - 5] + " HẾT."
assert len(LONG_EVIDENCE) == 32767

# One evidence text as communes type it (decomposed, TCVN3, VNI): stored as this NFC Unicode text.
LEGACY_UNICODE = "Kế hoạch số 47/KH-UBND ngày 30/12/2022 về cải cách hành chính"
NFD_TEXT = unicodedata.normalize("NFD", LEGACY_UNICODE)
# Typed with a .VnTime font (TCVN3/ABC), and with a VNI-Times font: encoded by hand, byte by byte.
TCVN3_TEXT = "KÕ ho¹ch sè 47/KH-UBND ngµy 30/12/2022 vÒ c¶i c¸ch hµnh chÝnh"
VNI_TEXT = "Keá hoaïch soá 47/KH-UBND ngaøy 30/12/2022 veà caûi caùch haønh chính"
TYPED_TEXT_CODE = "1.1.1"

PASSWORD = "bí mật"
DEFAULT_PASSWORD = "VelvetSweatshop"
BOMB_MEGABYTES = 128  # inflated size of the bomb's sheet part (the reader's limit for one part: 64 MB)
PASSWD_MARKER = "root:x:0:0"  # the first line of /etc/passwd: must never reach an output

# ---------------------------------------------------------------------------------------------
# The district's communes (hai-duong-2022): one commune per case that has a unit.

COMMUNES = {
    "control": Unit("30701", "Xã Chí Minh", "xã"),
    "empty": Unit("30702", "Xã Thanh Xá", "xã"),
    "half": Unit("30703", "Thị trấn Thanh Miện", "thị trấn"),
    "velvet": Unit("30704", "Xã Tứ Cường", "xã"),
    "macros": Unit("30705", "Xã Ngũ Hùng", "xã"),
    "formula_text": Unit("30706", "Xã Cao Thắng", "xã"),
    "long_text": Unit("30707", "Xã Lam Sơn", "xã"),
    "resaved_xlsx": Unit("30708", "Xã Đoàn Kết", "xã"),
    "resaved_xls": Unit("30709", "Xã Lê Hồng", "xã"),
    "resaved_ods": Unit("30710", "Xã Hồng Quang", "xã"),
    "unprotected": Unit("30711", "Xã Hồng Phong", "xã"),
    "formula_replaced": Unit("30712", "Xã Ngô Quyền", "xã"),
    "rows_inserted": Unit("30713", "Xã Tân Trào", "xã"),
    "row_deleted": Unit("30714", "Xã Đoàn Tùng", "xã"),
    "rows_reordered": Unit("30715", "Xã Thanh Tùng", "xã"),
    "rows_all": Unit("30716", "Xã Phạm Kha", "xã"),
    "renamed_sender": Unit("30717", "Xã Thanh Giang", "xã"),
    "renamed_victim": Unit("30718", "Xã Tiền Phong", "xã"),  # its name is on another commune's file
    "other_period": Unit("30719", "Xã Hùng Sơn", "xã"),
    "other_rubric": Unit("30720", "Xã Diên Hồng", "xã"),
    "decimal_comma": Unit("30721", "Xã Hồng Dụ", "xã"),
    "thousands": Unit("30722", "Xã Hiệp Lực", "xã"),
    "nfd": Unit("30723", "Xã Kiến Quốc", "xã"),
    "tcvn3": Unit("30724", "Xã Ứng Hòe", "xã"),
    "vni": Unit("30725", "Xã Nghĩa An", "xã"),
}
UNITS = list(COMMUNES.values())
CONTROL = COMMUNES["control"]


@dataclass
class Case:
    """One file of the corpus and what the harvest must make of it."""

    file_name: str  # relative to OUT_DIR/inbox
    unit_code: str | None  # the unit the file belongs to; None when nothing can identify it
    expected_codes: set[str]  # every finding code on the file (all severities)
    expected_status: str  # accepted | rejected | skipped | superseded
    note: str
    group: str = ""  # damaged | hostile | re-saved | tampered | typed | control
    exact: bool = True  # False: expected_codes must be present, others may be too
    expected_total: Decimal | None = None  # the self total the unit must get (accepted cases)
    original: str | None = None  # re-saves: the file (relative to OUT_DIR) it was made from
    resave_format: str | None = None  # re-saves: LibreOffice's --convert-to format
    needs_libreoffice: bool = False
    scores: dict[str, Decimal] = field(default_factory=dict)  # the leaf scores that must count

    @property
    def id(self) -> str:
        return re.sub(r"[^A-Za-z0-9]+", "-", self.file_name).strip("-").lower()


# ---------------------------------------------------------------------------------------------
# What communes type


def base_scores(index: int) -> dict[str, Decimal]:
    """Seed 003's scores (Xã Chí Minh, 75 points), with 1.7 varied per commune so that the
    communes' totals differ: a result counted for the wrong commune does not go unnoticed."""
    scores = {code: D(v) for code, v in CHI_MINH_SCORES.items()}
    scores["1.7"] = D(3) - D("0.05") * index
    return scores


def complete_texts(scores: dict[str, Decimal]) -> tuple[dict[str, str], dict[str, str]]:
    """Evidence for every score above 0, an explanation for every score below the maximum."""
    evidence = {code: f"Kế hoạch số {i}/KH-UBND ngày 15/01/2024 (tiêu chí {code})"
                for i, (code, value) in enumerate(sorted(scores.items()), start=1) if value > 0}
    explanations = {code: f"Chưa hoàn thành đầy đủ nội dung tiêu chí {code}"
                    for code, value in scores.items() if value < LEAF_MAX[code]}
    return evidence, explanations


def total_of(scores: dict[str, Decimal]) -> Decimal:
    """A hai-duong-2022 self total: the plain sum of the counted leaves (II.2 and II.3 are the
    province's, nothing is rescaled)."""
    return sum(scores.values(), D(0))


def _index(key: str) -> int:
    return list(COMMUNES).index(key)


def filled(folder: Path, key: str, name: str, *, scores: dict | None = None, typed: dict | None = None,
           evidence: dict | None = None, explanations: dict | None = None, period: str = PERIOD,
           rubric_id: str = RUBRIC_ID, typed_subtotals: dict | None = None) -> tuple[Path, dict[str, Decimal]]:
    """The commune `key`'s template, rendered as Excel saves it once filled (with cached results).

    `typed` replaces some scores by the text typed into the cell; returns the file and the scores
    that must count."""
    unit = COMMUNES[key]
    counted = dict(base_scores(_index(key)) if scores is None else scores)
    ev, ex = complete_texts(counted)
    ev.update(evidence or {})
    ex.update(explanations or {})
    cells: dict[str, object] = dict(counted)
    cells.update(typed or {})
    entries = Entries(scores=cells, evidence=ev, explanations=ex, typed_subtotals=dict(typed_subtotals or {}))
    path = make_template(folder, rubric_id=rubric_id, unit=unit, period=period, entries=entries, name=name)
    return path, counted


def rewrite_zip(source: bytes, replace: dict[str, bytes | None], add: dict[str, bytes] | None = None) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(source)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if info.filename in replace:
                if replace[info.filename] is not None:
                    dst.writestr(info, replace[info.filename])
                continue
            dst.writestr(info, src.read(info))
        for name, data in (add or {}).items():
            dst.writestr(name, data)
    return out.getvalue()


def edit(path: Path, damage) -> Path:
    """Open with openpyxl, change the main sheet as a person would in a spreadsheet, save."""
    workbook = load_workbook(path)
    damage(workbook[MAIN_SHEET])
    workbook.save(path)
    return path


def encrypt(data: bytes, password: str) -> bytes:
    from msoffcrypto.format.ooxml import OOXMLFile

    out = io.BytesIO()
    OOXMLFile(io.BytesIO(data)).encrypt(password, out)
    return out.getvalue()


def zip_bomb(template: bytes, megabytes: int = BOMB_MEGABYTES) -> bytes:
    """The template with its sheet part replaced by `megabytes` of zeros, streamed through
    ZIP_DEFLATED: about a thousandth of that on disk."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(template)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED,
                                                                        compresslevel=9) as dst:
        for info in src.infolist():
            if info.filename != "xl/worksheets/sheet1.xml":
                dst.writestr(info, src.read(info))
        with dst.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as part:
            chunk = b"\0" * (1 << 20)
            for _ in range(megabytes):
                part.write(chunk)
    return out.getvalue()


def billion_laughs(template: bytes) -> bytes:
    with zipfile.ZipFile(io.BytesIO(template)) as zf:
        shared = zf.read("xl/sharedStrings.xml").decode("utf-8")
    entities = '<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10))
    declaration, rest = shared.split("?>", 1)
    rest = re.sub(r"<t>[^<]*</t>", "<t>&lol9;</t>", rest, count=1)
    body = f"{declaration}?>\n<!DOCTYPE sst [{entities}]>{rest}"
    return rewrite_zip(template, {"xl/sharedStrings.xml": body.encode("utf-8")})


def external_entity(template: bytes) -> bytes:
    """An evidence cell whose text is the content of /etc/passwd, if the reader resolved entities."""
    with zipfile.ZipFile(io.BytesIO(template)) as zf:
        sheet = zf.read("xl/worksheets/sheet1.xml").decode("utf-8")
    declaration, rest = sheet.split("?>", 1)
    rest, count = re.subn(r'<c r="E13"([^>]*?) t="s"><v>\d+</v></c>',
                          r'<c r="E13"\1 t="inlineStr"><is><t>&xxe;</t></is></c>', rest, count=1)
    assert count == 1, "evidence cell E13 not found"
    body = f'{declaration}?>\n<!DOCTYPE worksheet [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>{rest}'
    return rewrite_zip(template, {"xl/worksheets/sheet1.xml": body.encode("utf-8")})


def with_macros(template: bytes) -> bytes:
    """An .xlsm: a vbaProject.bin part (fake, never run), its relationship and the macro content types."""
    with zipfile.ZipFile(io.BytesIO(template)) as zf:
        types = zf.read("[Content_Types].xml").decode("utf-8")
        rels = zf.read("xl/_rels/workbook.xml.rels").decode("utf-8")
    types = types.replace("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
                          "application/vnd.ms-excel.sheet.macroEnabled.main+xml")
    assert "macroEnabled" in types
    types = types.replace("<Default ", '<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/>'
                                       "<Default ", 1)
    rels = rels.replace("</Relationships>", '<Relationship Id="rIdVba" Type="http://schemas.microsoft.com/office/'
                                            '2006/relationships/vbaProject" Target="vbaProject.bin"/></Relationships>')
    vba = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504 +
           b'Attribute VB_Name = "ThisWorkbook"\r\nSub Workbook_Open()\r\nShell "cmd /c calc"\r\nEnd Sub\r\n')
    return rewrite_zip(template, {"[Content_Types].xml": types.encode("utf-8"),
                                  "xl/_rels/workbook.xml.rels": rels.encode("utf-8")},
                       {"xl/vbaProject.bin": vba})


def minimal_docx(path: Path, text: str) -> Path:
    from docx import Document

    document = Document()
    document.add_paragraph("ỦY BAN NHÂN DÂN XÃ")
    document.add_paragraph(text)
    document.save(path)
    return path


def not_magic(data: bytes) -> bytes:
    """Random bytes that start with no known signature (zip, OLE, PDF, JPEG, PNG)."""
    return b"\x13\x37" + data[2:]


# ---------------------------------------------------------------------------------------------
# The cases: each one declared with the builder that writes its file


@dataclass
class _Context:
    inbox: Path
    originals: Path
    work: Path
    rng: random.Random
    clean: bytes  # a clean filled return (the control commune's), raw material for broken copies


_PLAN: list[tuple[Case, Callable]] = []


def case(file_name: str, unit_key: str | None, codes, status: str, note: str, group: str, **extra):
    """Declare a case; the decorated builder writes its file at `path` and returns, for a file
    that must be accepted, the leaf scores that must count."""
    def register(builder: Callable) -> Callable:
        unit = COMMUNES[unit_key].code if unit_key else None
        _PLAN.append((Case(file_name, unit, set(codes), status, note, group, **extra), builder))
        return builder
    return register


def planned_cases(libreoffice: bool = True) -> list[Case]:
    """The cases, without building anything (for test ids)."""
    return [replace(c, expected_codes=set(c.expected_codes)) for c, _ in _PLAN
            if libreoffice or not c.needs_libreoffice]


# --- the control ------------------------------------------------------------------------------

CONTROL_FILE = "Phieu tu danh gia CCHC 2024 - xa Chi Minh.xlsx"


@case(CONTROL_FILE, "control", (), "accepted", "a complete, clean return (the control)", "control")
def _control(ctx: _Context, path: Path):
    return filled(path.parent, "control", path.name)[1]


# --- damaged ----------------------------------------------------------------------------------

@case("Phu luc CCHC (1) - tai do dang.xlsx", None, {"file.damaged"}, "rejected", "a truncated download", "damaged")
def _truncated(ctx, path):
    path.write_bytes(ctx.clean[: len(ctx.clean) * 2 // 3])


@case("Phu luc CCHC - hong.xlsx", None, {"file.not_spreadsheet"}, "rejected", "random bytes named .xlsx", "damaged")
def _random_bytes(ctx, path):
    path.write_bytes(not_magic(ctx.rng.randbytes(8192)))


@case("Phu luc CCHC - anh chup.xlsx", None, {"file.not_spreadsheet"}, "rejected",
      "a zip that is not a workbook (photos), named .xlsx", "damaged")
def _zip_of_photos(ctx, path):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("anh/IMG_0001.jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + ctx.rng.randbytes(2048) + b"\xff\xd9")
        zf.writestr("ghi chu.txt", "Kính gửi Phòng Nội vụ".encode("utf-8"))


@case("Bao cao CCHC 2024.docx", None, {"file.attachment_unmatched"}, "attachment",
      "a Word report sent instead: kept as a document no commune's name names", "damaged")
def _docx(ctx, path):
    minimal_docx(path, "Báo cáo kết quả tự đánh giá Chỉ số CCHC năm 2024")


@case("Phu luc CCHC (ban Word).xlsx", None, {"file.not_spreadsheet"}, "rejected", "a Word file renamed .xlsx",
      "damaged")
def _docx_renamed(ctx, path):
    minimal_docx(path, "Phụ lục I: bảng tự đánh giá, chép sang Word")


@case("Bao cao CCHC 2024.pdf", None, {"file.attachment_unmatched"}, "attachment",
      "a PDF sent instead: kept as a document no commune's name names", "damaged")
def _pdf(ctx, path):
    path.write_bytes(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n"
                     b"trailer\n<< /Root 1 0 R >>\n%%EOF\n")


@case("IMG_20241120_093012.jpg", None, {"file.attachment_unmatched"}, "attachment",
      "a photo of the printed table: kept as a document no commune's name names", "damaged")
def _photo(ctx, path):
    path.write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01" + ctx.rng.randbytes(4096) + b"\xff\xd9")


@case(template_file_name(COMMUNES["empty"], parse_period(PERIOD)), "empty", {"file.empty"}, "rejected",
      "the template sent back never filled", "damaged")
def _empty(ctx, path):
    make_template(path.parent, unit=COMMUNES["empty"], name=path.name)


@case("Phu luc CCHC - moi dien mot nua.xlsx", "half", {"score.missing"}, "accepted", "half filled: areas 1-3 only",
      "damaged")
def _half(ctx, path):
    half = {c: v for c, v in base_scores(_index("half")).items() if c.split(".")[0] in ("1", "2", "3")}
    return filled(path.parent, "half", path.name, scores=half)[1]


# --- hostile ----------------------------------------------------------------------------------

BOMB_FILE = "Phu luc CCHC - bom.xlsx"


@case(BOMB_FILE, None, {"file.zip_bomb"}, "rejected",
      f"a zip bomb: its sheet part inflates to {BOMB_MEGABYTES} MB of zeros", "hostile")
def _bomb(ctx, path):
    path.write_bytes(zip_bomb(ctx.clean))


@case("Phu luc CCHC - billion laughs.xlsx", None, {"file.xml_entities"}, "rejected",
      "entity expansion (billion laughs) in sharedStrings.xml", "hostile")
def _laughs(ctx, path):
    path.write_bytes(billion_laughs(ctx.clean))


@case("Phu luc CCHC - thuc the ngoai.xlsx", None, {"file.xml_entities"}, "rejected",
      'an external entity SYSTEM "file:///etc/passwd" in the sheet', "hostile")
def _external(ctx, path):
    path.write_bytes(external_entity(ctx.clean))


@case("Phu luc CCHC - co mat khau.xlsx", None, {"file.encrypted"}, "rejected",
      f"encrypted with the password “{PASSWORD}”", "hostile")
def _password(ctx, path):
    path.write_bytes(encrypt(ctx.clean, PASSWORD))


@case("Phu luc CCHC - chi doc.xlsx", "velvet", {"file.encrypted_default"}, "accepted",
      "Excel's default read-only encryption (VelvetSweatshop)", "hostile")
def _velvet(ctx, path):
    source, scores = filled(ctx.work, "velvet", "velvet.xlsx")
    path.write_bytes(encrypt(source.read_bytes(), DEFAULT_PASSWORD))
    return scores


MACRO_FILE = "Phu luc CCHC - macro.xlsm"


@case(MACRO_FILE, "macros", {"file.macros"}, "accepted", "an .xlsm with a vbaProject.bin part", "hostile")
def _macros(ctx, path):
    source, scores = filled(ctx.work, "macros", "macros.xlsx")
    path.write_bytes(with_macros(source.read_bytes()))
    return scores


@case("Phu luc CCHC - cong thuc.xlsx", "formula_text", (), "accepted", "evidence that looks like formulas", "hostile")
def _formula_like(ctx, path):
    return filled(path.parent, "formula_text", path.name, evidence=FORMULA_LIKE)[1]


@case("Phu luc CCHC - o dai.xlsx", "long_text", (), "accepted", "a 32,767-character evidence cell", "hostile")
def _long_text(ctx, path):
    return filled(path.parent, "long_text", path.name, evidence={LONG_EVIDENCE_CODE: LONG_EVIDENCE})[1]


# --- re-saved by LibreOffice: each from its own commune's filled template -------------------

RESAVES = (("resaved_xlsx", "xlsx", "xlsx"), ("resaved_xls", "xls:MS Excel 97", "xls"), ("resaved_ods", "ods", "ods"))


def _resave_case(key: str, fmt: str, suffix: str) -> None:
    stem = f"Phu luc CCHC - LibreOffice {suffix}"
    codes = {"identity.hidden_sheet_state"} | ({"formula.unknown"} if suffix == "xls" else set())

    @case(f"{stem}.{suffix}", key, codes, "accepted", f"re-saved by LibreOffice as .{suffix}", "re-saved",
          original=f"{ORIGINALS}/{stem}.xlsx", resave_format=fmt, needs_libreoffice=True)
    def _resaved(ctx, path):
        return filled(ctx.originals, key, f"{stem}.xlsx")[1]  # converted in one go by build_corpus


for _key, _fmt, _suffix in RESAVES:
    _resave_case(_key, _fmt, _suffix)


# --- tampered ---------------------------------------------------------------------------------

def _raise_maximum(ws):
    ws.protection.sheet = False
    ws.cell(rows_by_code(ws)["1.2"], 3).value = 5  # Điểm tối đa of 1.2: 2 in the rubric


def _insert_rows(ws):
    rows = rows_by_code(ws)
    ws.insert_rows(rows["3.1"])  # a blank row before 3.1
    ws.insert_rows(rows["5.1"] + 2)  # and a note after 5.1 (moved down by one already)
    ws.cell(rows["5.1"] + 2, 2).value = "Ghi chú: UBND xã đã bổ sung hồ sơ ngày 20/11/2024"


def _delete_row(ws):
    ws.delete_rows(rows_by_code(ws)[DELETED_CODE])


def _reorder_rows(ws):
    rows = rows_by_code(ws)
    for first, second in (("1.1.1", "1.1.2"), ("4.2", "4.3")):
        a, b = rows[first], rows[second]
        for col in range(1, 7):
            x, y = ws.cell(a, col), ws.cell(b, col)
            x.value, y.value = y.value, x.value


def _all_three(ws):
    _insert_rows(ws)
    _reorder_rows(ws)
    _delete_row(ws)


DELETED_CODE = "2.1"
EDITS = (
    ("unprotected", "Phu luc CCHC - go khoa.xlsx", _raise_maximum, {"sheet.unprotected", "row.max_changed"},
     "sheet unprotected and the maximum of 1.2 raised from 2 to 5"),
    ("rows_inserted", "Phu luc CCHC - chen dong.xlsx", _insert_rows, set(), "a blank row and a note row inserted"),
    ("row_deleted", "Phu luc CCHC - xoa dong.xlsx", _delete_row, {"row.missing"},
     f"the row of criterion {DELETED_CODE} deleted"),
    ("rows_reordered", "Phu luc CCHC - dao dong.xlsx", _reorder_rows, {"row.moved"},
     "rows 1.1.1/1.1.2 and 4.2/4.3 swapped"),
    ("rows_all", "Phu luc CCHC - chen xoa dao dong.xlsx", _all_three, {"row.missing", "row.moved"},
     f"rows inserted and reordered, and the row of {DELETED_CODE} deleted"),
)


def _edit_case(key: str, name: str, damage, codes: set[str], note: str) -> None:
    # openpyxl keeps no formula results: the harvest says it recomputed the totals.
    @case(name, key, codes | {"formula.missing_cache"}, "accepted", note, "tampered")
    def _edited(ctx, path):
        path, scores = filled(path.parent, key, path.name)
        edit(path, damage)
        if damage in (_delete_row, _all_three):
            scores = {c: v for c, v in scores.items() if c != DELETED_CODE}
        return scores


for _edit in EDITS:
    _edit_case(*_edit)


@case("Phu luc CCHC - sua cong thuc.xlsx", "formula_replaced", {"formula.replaced"}, "accepted",
      "the formula of 1.1 overwritten by the number 2.5 (its right value)", "tampered")
def _formula_replaced(ctx, path):
    return filled(path.parent, "formula_replaced", path.name, typed_subtotals={"1.1": D("2.5")})[1]


RENAMED_FILE = template_file_name(COMMUNES["renamed_victim"], parse_period(PERIOD))


@case(RENAMED_FILE, "renamed_sender", (), "accepted",
      f"{COMMUNES['renamed_sender'].name}'s return sent under {COMMUNES['renamed_victim'].name}'s file name", "tampered")
def _renamed(ctx, path):
    return filled(path.parent, "renamed_sender", path.name)[1]


@case("Phu luc CCHC 2023.xlsx", "other_period", {"identity.other_period"}, "rejected",
      "last year's template (period 2023)", "tampered")
def _other_period(ctx, path):
    filled(path.parent, "other_period", path.name, period="2023")


@case("Phu luc CCHC - mau cu.xlsx", "other_rubric", {"identity.other_rubric"}, "rejected",
      f"a template of an older rubric ({OLDER_RUBRIC_ID}), fully scored", "tampered", exact=False)
def _other_rubric(ctx, path):
    older = load_rubric(OLDER_RUBRIC_ID)
    full = {n.code: n.max for n in older.leaves() if n.self_scored and n.applies("xã")}
    entries = Entries(scores=full, evidence={c: f"Văn bản số {i}/UBND" for i, c in enumerate(full, 1)})
    make_template(path.parent, rubric_id=OLDER_RUBRIC_ID, unit=COMMUNES["other_rubric"], entries=entries,
                  name=path.name)


# --- typed ------------------------------------------------------------------------------------

@case("Phu luc CCHC - dau phay.xlsx", "decimal_comma", {"score.text_number", "total.shown_differs"}, "accepted",
      "“2,5” typed as text (decimal comma) in 1.7: the sheet's SUM leaves it out, so the total shown differs", "typed")
def _decimal_comma(ctx, path):
    scores = {**base_scores(_index("decimal_comma")), "1.7": D("2.5")}
    return filled(path.parent, "decimal_comma", path.name, scores=scores, typed={"1.7": "2,5"})[1]


@case("Phu luc CCHC - dau cham.xlsx", "thousands", {"score.thousands_separator", "total.shown_differs"}, "accepted",
      "“2.500” typed in 1.7: a point that looks like a thousands separator; the total shown leaves it out", "typed")
def _thousands(ctx, path):
    scores = {**base_scores(_index("thousands")), "1.7": D("2.5")}
    return filled(path.parent, "thousands", path.name, scores=scores, typed={"1.7": "2.500"})[1]


TYPED_TEXTS = {  # case key -> (file, the evidence as typed, codes)
    "nfd": ("Phu luc CCHC - NFD.xlsx", NFD_TEXT, set()),
    "tcvn3": ("Phu luc CCHC - TCVN3.xlsx", TCVN3_TEXT, {"text.legacy_encoding"}),
    "vni": ("Phu luc CCHC - VNI.xlsx", VNI_TEXT, {"text.legacy_encoding"}),
}


def _typed_text_case(key: str, name: str, text: str, codes: set[str]) -> None:
    label = {"nfd": "decomposed Unicode (NFD)", "tcvn3": "TCVN3 (ABC, .VnTime)", "vni": "VNI (VNI-Times)"}[key]

    @case(name, key, codes, "accepted", f"evidence of {TYPED_TEXT_CODE} typed in {label}", "typed")
    def _typed(ctx, path):
        return filled(path.parent, key, path.name, evidence={TYPED_TEXT_CODE: text})[1]


for _key, (_name, _text, _codes) in TYPED_TEXTS.items():
    _typed_text_case(_key, _name, _text, _codes)


# ---------------------------------------------------------------------------------------------
# Building


def write_units(path: Path) -> Path:
    lines = ["code,name,kind"] + [f"{u.code},{u.name},{u.kind}" for u in UNITS]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def build_corpus(out_dir, libreoffice: bool | None = None) -> list[Case]:
    """Write units.csv, inbox/ and originals/ into out_dir; return the cases.

    The LibreOffice re-saves need `soffice`: `libreoffice=None` makes them when it is installed,
    True requires it, False leaves them out."""
    out = Path(out_dir)
    inbox, originals, work = out / INBOX, out / ORIGINALS, out / "work"
    for folder in (inbox, originals, work):
        folder.mkdir(parents=True, exist_ok=True)
    write_units(out / UNITS_FILE)
    if libreoffice is None:
        libreoffice = SOFFICE is not None
    elif libreoffice and SOFFICE is None:
        raise RuntimeError("LibreOffice (soffice) is needed for the re-saved cases")
    clean, _ = filled(work, "control", "clean.xlsx")
    ctx = _Context(inbox, originals, work, random.Random(7), clean.read_bytes())
    cases = []
    for planned, builder in _PLAN:
        if planned.needs_libreoffice and not libreoffice:
            continue
        built = replace(planned, expected_codes=set(planned.expected_codes))
        scores = builder(ctx, inbox / built.file_name)
        if scores is not None:
            built.scores = dict(scores)
            built.expected_total = total_of(scores)
        cases.append(built)
    resaves = [c for c in cases if c.resave_format]
    if resaves:  # in parallel, one LibreOffice profile each
        def convert(c: Case) -> Path:
            return libreoffice_convert(out / c.original, c.resave_format, work / f"lo-{c.id}")

        with ThreadPoolExecutor(max_workers=len(resaves)) as pool:
            produced = list(pool.map(convert, resaves))
        for c, path in zip(resaves, produced):
            assert path.name == c.file_name, (path.name, c.file_name)
            shutil.move(str(path), inbox / c.file_name)
    shutil.rmtree(work)
    for c in cases:
        assert (inbox / c.file_name).is_file(), c.file_name
    names = [c.file_name for c in cases]
    assert len(set(names)) == len(names) and sorted(p.name for p in inbox.iterdir()) == sorted(names)
    return cases


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python tests/corpus.py OUT_DIR", file=sys.stderr)
        return 2
    cases = build_corpus(Path(argv[1]))
    for c in cases:
        codes = ", ".join(sorted(c.expected_codes)) or "-"
        print(f"{c.group:9} {c.expected_status:9} {c.unit_code or '-':6} {c.file_name}: {codes}")
    print(f"{len(cases)} cases in {Path(argv[1]) / INBOX}; units in {Path(argv[1]) / UNITS_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
