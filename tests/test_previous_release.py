"""Templates already sent must still be harvested: workbooks generated and filled with the
previous release (cchc-xls 0.1.0, commit c7830d1), kept as files in tests/fixtures/v0.1.0/.

A round lasts weeks; an office that upgrades cchc-xls in the middle of it must still read,
identify and count every template the earlier version sent out, as communes return them (filled,
and re-saved by LibreOffice as .ods).
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from cchc_xls.pipeline import run_harvest
from cchc_xls.rubric import load_rubric
from cchc_xls.units import Unit

from support import CHI_MINH_SCORES, HA_BAC_SCORES

FIXTURES = Path(__file__).parent / "fixtures" / "v0.1.0"
D = Decimal


def thai_nguyen_expected() -> Decimal:
    """The fixture's Thái Nguyên scores (a quarter point lost on every third criterion), summed here."""
    rubric = load_rubric("thai-nguyen-2021")
    total = D(0)
    for index, leaf in enumerate(n for n in rubric.leaves() if n.self_scored and n.applies("phường")):
        total += leaf.max - D("0.25") if index % 3 == 0 and leaf.max > D("0.25") else leaf.max
    return total


CASES = [
    ("hai-duong-2022", Unit("30512", "Xã Chí Minh", "xã"), ["30512_xa-chi-minh_CCHC_2024.xlsx"],
     sum((D(v) for v in CHI_MINH_SCORES.values()), D(0))),
    ("hai-duong-2022", Unit("30512", "Xã Chí Minh", "xã"), ["30512_xa-chi-minh_CCHC_2024_libreoffice.ods"],
     sum((D(v) for v in CHI_MINH_SCORES.values()), D(0))),
    ("ha-trung-2023", Unit("28900", "Xã Hà Bắc", "xã"), ["28900_xa-ha-bac_CCHC_2024.xlsx"], D("94.5")),
    ("thai-nguyen-2021", Unit("04101", "Phường Phan Đình Phùng", "phường"),
     ["04101_phuong-phan-dinh-phung_CCHC_2024.xlsx"], thai_nguyen_expected()),
]


@pytest.mark.parametrize("rubric_id, unit, files, expected", CASES, ids=[c[2][0] for c in CASES])
def test_previous_release_template_is_identified_and_counted(tmp_path, rubric_id, unit, files, expected):
    inputs = [FIXTURES / name for name in files]
    before = {p: p.read_bytes() for p in inputs}
    outputs = run_harvest(load_rubric(rubric_id), inputs, [unit], tmp_path / "out", workers=1)
    data = json.loads((tmp_path / "out" / "harvest.json").read_text(encoding="utf-8"), parse_float=Decimal)
    (item,) = data["units"]
    assert item["status"] == "submitted", data["files"]
    assert Decimal(str(item["self_total"])) == expected
    (file,) = data["files"]
    assert file["status"] == "accepted"
    assert file["unit_code"] == unit.code
    errors = [f for f in file["findings"] if f["severity"] == "error"]
    assert errors == []
    # identified by the identity 0.1.0 stored, not by the file name
    assert outputs.harvest.files[0].identity["template_id"] == f"testbtch-{unit.code}"
    assert all(p.read_bytes() == data for p, data in before.items()), "input files are never modified"
