"""The command line's progress bar for `cchc harvest`, and the progress interface the web page uses."""

from __future__ import annotations

import io

from cchc_xls.harvest import harvest
from cchc_xls.pipeline import PROGRESS_FROM, _Progress
from cchc_xls.rubric import load_rubric
from cchc_xls.units import Unit
from tests.support import fill_workbook, make_template


class Terminal(io.StringIO):
    """What click writes to a terminal, kept to be read back."""

    def isatty(self) -> bool:
        return True


class Pipe(io.StringIO):
    def isatty(self) -> bool:
        return False


def _run(stream, total: int) -> str:
    progress = _Progress("Đang đọc các tệp", stream)
    progress.start(total)
    for _ in range(total):
        progress(1)
    progress.finish()
    return stream.getvalue()


def test_bar_on_a_terminal_shows_count_rate_and_time_left():
    total = PROGRESS_FROM + 5
    shown = _run(Terminal(), total)
    assert "Đang đọc các tệp" in shown
    assert f"{total}/{total}" in shown
    assert "tệp/giây" in shown
    assert shown.endswith("\n")  # the bar ends its line before the summary is printed


def test_no_bar_in_a_pipe_or_for_a_tiny_batch():
    assert _run(Pipe(), PROGRESS_FROM + 5) == ""
    assert _run(Terminal(), PROGRESS_FROM - 1) == ""
    progress = _Progress(None, Terminal())  # `--json`: no label, no bar
    progress.start(PROGRESS_FROM + 5)
    progress(1)
    progress.finish()
    assert progress.stream.getvalue() == ""


class Recorder:
    """The web page's side of the interface: start(total), a call per file, finish()."""

    def __init__(self):
        self.total, self.done, self.finished = None, 0, False

    def start(self, total: int) -> None:
        self.total = total

    def __call__(self, step: int) -> None:
        assert not self.finished
        self.done += step

    def finish(self) -> None:
        self.finished = True


def test_harvest_reports_every_file_then_finishes(tmp_path):
    units = [Unit("30512", "Xã Chí Minh", "xã"), Unit("30513", "Xã Tân Dân", "xã")]
    folder = tmp_path / "in"
    folder.mkdir()
    for unit in units:
        path = make_template(tmp_path, unit=unit)
        fill_workbook(path, {}, out=folder / path.name)
    (folder / "ghi-chu.txt").write_text("không phải bảng tính", encoding="utf-8")
    recorder = Recorder()
    result = harvest(load_rubric("hai-duong-2022"), [folder], units, workers=1, progress=recorder)
    assert recorder.total == len(result.files) == 3
    assert recorder.done == 3
    assert recorder.finished
