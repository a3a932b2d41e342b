"""A fuzzer over the readers (issue 12): Hypothesis mutates valid workbooks and the reader must
either read them or refuse them with a catalogue finding, nothing else.

Seeds: a generated and filled .xlsx (Xã Chí Minh, 75 points), its LibreOffice .xls and .ods
re-saves (tests/fixtures/), a generated appraisal workbook, and an .xlsb written from the .xlsx.
Mutations: an XML attribute value or text replaced by a hostile value (NaN, 1E308, "1.5", "¹³",
30 digits, markup...), an element nested thousands deep, zip header fields and flags (encrypted,
Deflate64/AES, version 16.1, UTF-8 names), binary record fields of the .xls/.xlsb, truncations.

Properties: `read_return` returns a Return or a Finding and `open_book` raises only
WorkbookError; what is read can be checked (or read as an appraisal) without an exception; and a
batch of mutated files with one clean control return goes through `run_harvest`: every input is
listed in harvest.json with a status, the control's total is exact, no `.part` file is left.

Bounded for CI: derandomized (the same examples on every run) with a fixed number of examples.
Every failure it found while it was written is kept as a plain regression test below.
"""

from __future__ import annotations

import io
import json
import os
import re
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest

hypothesis = pytest.importorskip("hypothesis")  # a test extra; CI installs it
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from cchc_xls.appraise import read_appraisal, write_appraisal_workbooks  # noqa: E402
from cchc_xls.check import check_return  # noqa: E402
from cchc_xls.findings import CATALOGUE, Finding  # noqa: E402
from cchc_xls.generate import Entries  # noqa: E402
from cchc_xls.layout import KIND_SELF  # noqa: E402
from cchc_xls.pipeline import run_harvest  # noqa: E402
from cchc_xls.read import Return, read_return  # noqa: E402
from cchc_xls.units import Unit  # noqa: E402
from cchc_xls.workbook import WorkbookError, open_book  # noqa: E402

from hostile import (  # noqa: E402
    CHI_MINH_ODS, CHI_MINH_TOTAL, CHI_MINH_XLS, RUBRIC, filled_xlsx, patch_member, xlsb_of_return,
)
from support import CHI_MINH_EVIDENCE, CHI_MINH_SCORES, make_template  # noqa: E402

D = Decimal
ALL = lambda name, state: True  # noqa: E731
CHI_MINH = Unit("30512", "Xã Chí Minh", "xã")
THANH_XA = Unit("30513", "Xã Thanh Xá", "xã")

HOSTILE_VALUES = [
    "NaN", "INF", "-INF", "1E308", "1E29", "-1E29", "1e400", "1.5", "¹³", "١٣", "-1", "", " ", "0x10", "1_0",
    "1" * 30, "9" * 12, "100000000", "2147483648", "18446744073709551616", "A1048577", "XFD1", "ZZZZ9", "true",
    "<", "&amp;", "&#0;", "]]>", "x-unknown", "UTF-16", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "\x00",
]
# CCHC_FUZZ_EXAMPLES=2000 CCHC_FUZZ_RANDOM=1 explores further (new examples on every run)
EXAMPLES = int(os.environ.get("CCHC_FUZZ_EXAMPLES", "60"))
DERANDOMIZE = not os.environ.get("CCHC_FUZZ_RANDOM")
FUZZ = settings(max_examples=EXAMPLES, derandomize=DERANDOMIZE, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def seeds(tmp_path_factory) -> dict[str, bytes]:
    folder = tmp_path_factory.mktemp("seeds")
    xlsx = filled_xlsx(folder).read_bytes()
    harvest_dir = folder / "harvest"
    run_harvest(RUBRIC, [folder / "30512.xlsx"], [CHI_MINH], harvest_dir, workers=1)
    appraisal = write_appraisal_workbooks(harvest_dir, folder / "appraisal").workbooks[0].read_bytes()
    return {
        "xlsx": xlsx, "xls": CHI_MINH_XLS.read_bytes(), "ods": CHI_MINH_ODS.read_bytes(),
        "appraisal.xlsx": appraisal, "xlsb": xlsb_of_return(open_book(Path("x.xlsx"), xlsx, ALL)),
    }


def reads_or_refuses(data: bytes, name: str) -> Return | Finding:
    """The property for one file: a Return or a catalogue Finding, and what is read can be
    judged; open_book raises WorkbookError or nothing."""
    result = read_return(Path(name), data, name)
    if isinstance(result, Finding):
        assert result.code in CATALOGUE
    else:
        assert isinstance(result, Return)
        if result.kind == KIND_SELF and result.rows:
            check_return(result, RUBRIC, "xã")
        elif result.book is not None:
            read_appraisal(result.book, result.identity, RUBRIC, name)
    try:
        open_book(Path(name), data, ALL)
    except WorkbookError as exc:
        assert exc.code in CATALOGUE
    return result


# ---------------------------------------------------------------------------------------------
# Mutations


_SPANS = re.compile(rb'="([^"]{0,64})"|>([^<]{1,64})<')


def _zip_members(data: bytes) -> list[str]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return [i.filename for i in zf.infolist()]


def _rewrite(data: bytes, name: str, content: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info, content if info.filename == name else src.read(info))
    return out.getvalue()


@st.composite
def xml_mutation(draw, data: bytes) -> bytes:
    """One XML attribute value or text of one part replaced, or one element nested deep."""
    names = [n for n in _zip_members(data) if n.endswith((".xml", ".rels", ".bin"))]
    name = draw(st.sampled_from(names))
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        content = zf.read(name)
    if name.endswith(".bin"):
        return _rewrite(data, name, draw(binary_mutation(content)))
    spans = [m.span(1) if m.group(1) is not None else m.span(2) for m in _SPANS.finditer(content)]
    how = draw(st.sampled_from(["value", "value", "value", "text", "nest"]))
    if how == "nest":
        depth = draw(st.sampled_from([50, 5000]))
        content = content.replace(b"<v>", b"<x>" * depth + b"<v>", 1).replace(b"</v>", b"</v>" + b"</x>" * depth, 1)
    elif spans:
        start, end = draw(st.sampled_from(spans))
        value = draw(st.sampled_from(HOSTILE_VALUES)) if how == "value" else draw(st.text(max_size=12))
        content = content[:start] + value.encode("utf-8") + content[end:]
    return _rewrite(data, name, content)


@st.composite
def zip_mutation(draw, data: bytes) -> bytes:
    """A zip header field or flag of one member changed."""
    name = draw(st.sampled_from(_zip_members(data)))
    change = draw(st.sampled_from([{"flag_or": 0x1}, {"flag_or": 0x800}, {"flag_or": 0x8}, {"method": 9},
                                   {"method": 99}, {"method": 12}, {"version": 161}, {"version": 63}]))
    return patch_member(data, name, **change)


@st.composite
def binary_mutation(draw, data: bytes) -> bytes:
    """A few bytes of a binary stream set to extreme values (record sizes, rows, columns, counts)."""
    out = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        pos = draw(st.integers(0, max(0, len(out) - 4)))
        value = draw(st.sampled_from([b"\xff\xff\xff\xff", b"\x00\x00\x00\x00", b"\xff\xff", b"\x00\x80",
                                      b"\xff\x7f", b"\x01"]))
        out[pos:pos + len(value)] = value
    return bytes(out)


@st.composite
def truncation(draw, data: bytes) -> bytes:
    return data[:draw(st.integers(0, len(data) - 1))]


def mutated(seed: bytes, zipped: bool):
    options = [truncation(seed), binary_mutation(seed)]
    if zipped:
        options += [xml_mutation(seed), xml_mutation(seed), xml_mutation(seed), zip_mutation(seed)]
    return st.one_of(options)


# ---------------------------------------------------------------------------------------------
# Properties


@pytest.mark.parametrize("kind, name, zipped", [
    ("xlsx", "30512.xlsx", True), ("ods", "30512.ods", True), ("appraisal.xlsx", "tham-dinh.xlsx", True),
    ("xlsb", "30512.xlsb", True), ("xls", "30512.xls", False),
])
def test_a_mutated_workbook_is_read_or_refused_with_a_finding(seeds, kind, name, zipped):
    @FUZZ
    @given(st.data())
    def check(data):
        reads_or_refuses(data.draw(mutated(seeds[kind], zipped)), name)

    check()


def test_a_batch_of_mutated_files_finishes_with_every_input_listed_and_the_control_exact(seeds, tmp_path_factory):
    folder = tmp_path_factory.mktemp("control")
    control = make_template(folder, unit=THANH_XA, name="thanh-xa.xlsx",
                            entries=Entries(scores={k: D(v) for k, v in CHI_MINH_SCORES.items()},
                                            evidence=dict(CHI_MINH_EVIDENCE), explanations={}))
    runs = iter(range(10**6))

    @settings(max_examples=max(4, EXAMPLES // 15), derandomize=DERANDOMIZE, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(st.data())
    def check(data):
        base = tmp_path_factory.mktemp(f"batch{next(runs)}")
        inbox = base / "inbox"
        inbox.mkdir()
        (inbox / control.name).write_bytes(control.read_bytes())
        names = {control.name}
        for index, (kind, suffix, zipped) in enumerate([("xlsx", "xlsx", True), ("ods", "ods", True),
                                                        ("xls", "xls", False), ("xlsb", "xlsb", True),
                                                        ("xlsx", "xlsx", True), ("appraisal.xlsx", "xlsx", True)]):
            name = f"m{index}.{suffix}"
            (inbox / name).write_bytes(data.draw(mutated(seeds[kind], zipped)))
            names.add(name)
        out = base / "out"
        run_harvest(RUBRIC, [inbox], [CHI_MINH, THANH_XA], out, workers=1)
        result = json.loads((out / "harvest.json").read_text(encoding="utf-8"), parse_float=Decimal)
        files = {Path(f["path"]).name: f for f in result["files"]}
        assert names <= set(files)
        assert all(files[n]["status"] for n in names)
        thanh_xa = next(u for u in result["units"] if u["code"] == THANH_XA.code)
        assert thanh_xa["self_total"] == CHI_MINH_TOTAL
        assert not list(out.rglob("*.part"))

    check()


# ---------------------------------------------------------------------------------------------
# Regressions: every failure the fuzzer found, as a plain test


def test_regression_truncated_biff_record_in_an_xls_is_read_or_refused():
    # a MULRK record whose size points past the end of the stream made the extent scan raise
    # struct.error before calamine saw the file
    data = bytearray(CHI_MINH_XLS.read_bytes())
    result = reads_or_refuses(bytes(data[:len(data) * 2 // 3]), "30512.xls")
    assert isinstance(result, (Return, Finding))
