"""File names the tool writes are valid on Windows too (issue 17): no reserved device names, no
`<>:"/\\|?*`, no trailing dot or space, whatever the communes called their files."""

from __future__ import annotations

from pathlib import Path

import pytest

from cchc_xls.appraise import write_appraisal_workbooks
from cchc_xls.demo import run_demo
from cchc_xls.names import is_windows_safe, windows_safe_name
from cchc_xls.pipeline import run_harvest
from cchc_xls.report import write_reports
from cchc_xls.rubric import load_rubric
from cchc_xls.units import Unit, parse_period

from support import make_template


@pytest.mark.parametrize("name, safe", [
    ("CON", "_CON"), ("con.xlsx", "_con.xlsx"), ("NUL.tar.gz", "_NUL.tar.gz"), ("COM1.xlsx", "_COM1.xlsx"),
    ("LPT9", "_LPT9"), ("CONSOLE.xlsx", "CONSOLE.xlsx"), ("phiếu.", "phiếu"), ("phiếu. . ", "phiếu"),
    ("a<b>c:d\"e|f?g*h.xlsx", "a_b_c_d_e_f_g_h.xlsx"), ("C:\\Users\\x\\Phiếu xã.xlsx", "Phiếu xã.xlsx"),
    ("../../etc/passwd", "passwd"), (".hidden.xlsx", "hidden.xlsx"), ("", "tep"), ("...", "tep"),
    ("tab\there.xlsx", "tab_here.xlsx"), ("Phie\u0302\u0301u.xlsx", "Phiếu.xlsx"),
])
def test_windows_safe_name(name, safe):
    assert windows_safe_name(name) == safe
    assert is_windows_safe(windows_safe_name(name))


def test_long_names_keep_their_extension():
    name = windows_safe_name("x" * 400 + ".xlsx")
    assert len(name) <= 150 and name.endswith(".xlsx") and is_windows_safe(name)


@pytest.mark.parametrize("name", ["CON", "aux.txt", "a:b", "a?", "a.", "a ", "", "..", "x/y", "x\\y", "nul.tar.gz"])
def test_unsafe_names_are_recognised(name):
    assert not is_windows_safe(name)


def all_names(folder: Path) -> list[str]:
    return [part for path in folder.rglob("*") for part in path.relative_to(folder).parts]


def test_every_name_generate_harvest_appraise_and_report_write_is_windows_safe(tmp_path):
    demo = run_demo(tmp_path / "demo")  # generate, harvest, appraise by unit, harvest again, rank, report
    write_appraisal_workbooks(demo.harvest.out_dir, tmp_path / "demo" / "by-area", by="area")
    # returns named as no Windows machine would name them still give Windows-safe copies in received/
    inbox = tmp_path / "hop-thu"
    inbox.mkdir()
    unit = Unit("30512", "Xã Chí Minh", "xã")
    for odd in ("CON.xlsx", "a:b?.xlsx", "phieu.xlsx.", "phieu. ", "x" * 200 + ".xlsx"):
        make_template(inbox, unit=unit, name=odd)
    result = run_harvest(load_rubric("hai-duong-2022"), [inbox], [unit], tmp_path / "thu",
                         period=parse_period("2024"))
    write_reports(result.out_dir, tmp_path / "bao-cao")
    names = all_names(tmp_path / "demo") + all_names(tmp_path / "thu") + all_names(tmp_path / "bao-cao")
    assert len([n for n in all_names(tmp_path / "thu" / "received")]) == 5
    unsafe = [n for n in names if not is_windows_safe(n)]
    assert not unsafe
