"""Legacy TCVN3 (ABC) and VNI text converted to Unicode, and Unicode text left alone."""

import pytest

from cchc_xls.legacy import detect_legacy, fix_legacy_text


@pytest.mark.parametrize("typed,expected", [
    ("Ch\xad¬ng tr×nh c¶i c¸ch hµnh chÝnh", "Chương trình cải cách hành chính"),
    ("KÕ ho¹ch sè 47/KH-UBND ngµy 30/12/2022", "Kế hoạch số 47/KH-UBND ngày 30/12/2022"),
    ("§· ban hµnh QuyÕt ®Þnh", "Đã ban hành Quyết định"),
])
def test_tcvn3_is_converted(typed, expected):
    assert fix_legacy_text(typed) == (expected, "TCVN3 (ABC)")


@pytest.mark.parametrize("typed,expected", [
    ("Keá hoaïch soá 47/KH-UBND ngaøy 30/12/2022", "Kế hoạch số 47/KH-UBND ngày 30/12/2022"),
    ("Chöông trình caûi caùch haønh chính", "Chương trình cải cách hành chính"),
    ("Ñaõ ban haønh Quyeát ñònh", "Đã ban hành Quyết định"),
])
def test_vni_is_converted(typed, expected):
    assert fix_legacy_text(typed) == (expected, "VNI")


@pytest.mark.parametrize("text", [
    "Kế hoạch số 47/KH-UBND ngày 30/12/2022", "Việt Nam hoà bình", "NGƯỜI LẬP BIỂU", "Báo cáo",
    "café Noël", "1478/1478 = 100%", "", "Đạt",
])
def test_unicode_and_other_text_is_left_alone(text):
    assert detect_legacy(text) is None
    assert fix_legacy_text(text) == (text, None)
