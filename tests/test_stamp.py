"""Templates stamped from one master per kind of unit are the files render_template writes."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openpyxl import load_workbook

from cchc_xls.generate import Options, TemplateStamp, generate_templates, render_template, template_file_name
from cchc_xls.layout import MAIN_SHEET
from cchc_xls.read import read_return
from cchc_xls.rubric import load_rubric
from cchc_xls.units import Unit, parse_period

PERIOD = parse_period("2024")
OPTIONS = Options(office="Sở Nội vụ tỉnh Thử", deadline="15/12/2024", password="", batch="stamp001",
                  generated_at="2024-11-01T00:00:00+00:00")


def parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def same_as_rendered(stamp: TemplateStamp, rubric, unit: Unit, folder: Path) -> bool | None:
    """True when the stamp wrote the unit's template and it equals the rendered one, part for part
    and in the same order; None when the stamp declined the unit."""
    stamped, rendered = folder / "stamped.xlsx", folder / "rendered.xlsx"
    stamped.unlink(missing_ok=True)
    if not stamp.write(stamped, unit):
        assert not stamped.exists()
        return None
    render_template(rendered, rubric, unit, PERIOD, OPTIONS)
    mine, theirs = parts(stamped), parts(rendered)
    assert list(mine) == list(theirs)
    assert [name for name in theirs if mine[name] != theirs[name]] == []
    return True


@pytest.mark.parametrize("rubric_id", ["thai-nguyen-2021", "hai-duong-2022", "ha-trung-2023"])
@pytest.mark.parametrize("kind", ["xã", "phường", "thị trấn", "đặc khu", None])
def test_stamped_templates_equal_rendered_ones(tmp_path, rubric_id, kind):
    rubric = load_rubric(rubric_id)
    stamp = TemplateStamp(rubric, kind, PERIOD, OPTIONS)
    assert stamp.usable
    for unit in [Unit("30512", "Xã Chí Minh", kind), Unit("T01", "Thanh Miện", kind),
                 Unit("A&1", "Xã <Tân> & \"Hòa\" Đông", kind), Unit("ĐK", "Đặc khu Cô Tô", kind),
                 Unit("M-07", "thị trấn Mẫu Sơn", kind)]:
        assert same_as_rendered(stamp, rubric, unit, tmp_path), unit


def test_units_whose_names_would_change_the_layout_are_rendered_whole(tmp_path):
    rubric = load_rubric("thai-nguyen-2021")
    stamp = TemplateStamp(rubric, "xã", PERIOD, OPTIONS)
    declined = [Unit("9", "Xã " + " ".join(["Rất Dài"] * 20), "xã"),  # the instructions line would wrap once more
                Unit("2024", "2024", "xã"),  # a cell of its own would equal the period's
                Unit("X2", " Xã Lề ", "xã"), Unit("X3", "Xã\tTab", "xã"),
                Unit("X4", "Xã _x0041_ Lạ", "xã")]  # a text xlsxwriter writes escaped
    for unit in declined:
        assert same_as_rendered(stamp, rubric, unit, tmp_path) is None, unit
    # the batch renders those whole: every file is still the unit's own template
    out = tmp_path / "batch"
    units = declined[:2] + [Unit("30512", "Xã Chí Minh", "xã")]
    generated = generate_templates(rubric, units, PERIOD, out, workers=1)
    for unit, path in zip(units, generated.files):
        assert path.name == template_file_name(unit, PERIOD)
        found = read_return(path, path.read_bytes(), path.name)
        assert (found.identity["unit_code"], found.identity["unit_name"]) == (unit.code, unit.name)
        assert found.identity["template_id"] == f"{generated.batch}-{unit.code}"
        sheet = load_workbook(path)[MAIN_SHEET]
        assert sheet.cell(2, 1).value == unit.full_name.upper()


NAMES = st.text(alphabet="aăâbcdđeêghiklmnoôơpqrstuưvxyàảãáạằẳẵắặầẩẫấậèẻẽéẹềểễếệìỉĩíịòỏõóọồổỗốộờởỡớợùủũúụừửữứựỳỷỹýỵ"
                         "ĐXPTAÂ &<>\"'-.,()_0123456789", min_size=1, max_size=60)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=NAMES, code=st.from_regex(r"[A-Z0-9][A-Z0-9._-]{0,9}", fullmatch=True))
def test_any_name_is_stamped_exactly_or_rendered(tmp_path, name, code):
    rubric = load_rubric("hai-duong-2022")
    stamp = _STAMPS.setdefault("xã", TemplateStamp(rubric, "xã", PERIOD, OPTIONS))
    assert same_as_rendered(stamp, rubric, Unit(code, name, "xã"), tmp_path) in (True, None)


_STAMPS: dict = {}
