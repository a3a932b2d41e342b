"""Row heights: the line count that sizes every wrapped row (style.wrapped_lines)."""

import textwrap

from hypothesis import given, settings
from hypothesis import strategies as st

from cchc_xls.style import _greedy_lines, wrapped_lines

WORDS = st.lists(st.sampled_from(["Kế", "hoạch", "số", "47/KH-UBND", "ngày", "30/12/2022", "của", "UBND", "xã",
                                  "A" * 45, "BBBBBBBBBBBB", "đạt", "100%"]), max_size=40)


@settings(max_examples=300, deadline=None)
@given(WORDS, st.integers(min_value=1, max_value=80))
def test_greedy_count_is_textwraps(words, width):
    text = " ".join(words)
    expected = max(1, len(textwrap.wrap(text, width, break_long_words=True, break_on_hyphens=False)))
    assert _greedy_lines(text.split(), width) == expected


def test_lines_grow_with_text_and_paragraphs():
    short = "Đã ban hành kế hoạch"
    assert wrapped_lines("", 30) == 1
    assert wrapped_lines(short, 30) == 1
    assert wrapped_lines(" ".join([short] * 10), 30) > 3
    assert wrapped_lines(short + "\n" + short + "\n" + short, 30) == 3
    # capitals are wider: the same letters in upper case take more lines
    text = " ".join(["công tác cải cách hành chính"] * 4)
    assert wrapped_lines(text.upper(), 30) > wrapped_lines(text, 30)
    # a bold line fits fewer letters than a regular one
    assert wrapped_lines("x" * 33, 30, bold=True) > wrapped_lines("x" * 33, 30)
