"""Whole jobs as the commands run them: harvest into a folder, with every output written whole."""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import click

from cchc_xls.compare import load_previous, previous_json
from cchc_xls.consolidate import harvest_json, write_harvest_json, write_tong_hop
from cchc_xls.errors import OutputError, folder_error, output_error
from cchc_xls.feedback import FEEDBACK_CSV, FEEDBACK_DIR, replace_folder, write_feedback
from cchc_xls.harvest import Harvest, harvest
from cchc_xls.limits import DEFAULT_LIMITS, Limits
from cchc_xls.outputs import (
    HISTORY, LOCK_NAME, FolderLock, copy_atomic, display_path, file_sha256, keep_earlier, write_text_atomic,
)
from cchc_xls.profile import OfficeProfile, legacy_office, profile_json
from cchc_xls.rank import write_phu_luc_ii
from cchc_xls.report import write_phu_luc_ii_docx
from cchc_xls.results import RUBRIC_COPY, load_results, results_from_data
from cchc_xls.rubric import Rubric
from cchc_xls.units import Period, Unit

OUTPUT_LABELS = {
    "phu_luc_ii": "Bảng xếp hạng Phụ lục II (mở tệp này trước)",
    "phu_luc_ii_docx": "Phụ lục II dạng Word (để đính kèm quyết định)",
    "tong_hop": "Bảng tổng hợp, danh sách vấn đề, tiến độ nộp",
    "harvest_json": "Dữ liệu đầy đủ (JSON)",
    "received": "Bản sao mọi tệp đã nhận",
    "feedback": "Thư phản hồi, nhắc nộp gửi từng đơn vị (dán vào Zalo hoặc thư điện tử)",
    "feedback_csv": "Danh sách gửi thư phản hồi (trộn thư)",
}


@dataclass(frozen=True)
class HarvestOutputs:
    out_dir: Path
    harvest: Harvest
    paths: dict[str, Path] = field(default_factory=dict)

    def labelled(self):
        return [(OUTPUT_LABELS.get(key, key), path) for key, path in self.paths.items()]


PROGRESS_FROM = 20  # files: a smaller batch is read before a bar would be worth reading


class _Progress:
    """The command line's progress bar (click's): files read, rate and time left, on stderr.

    Shown only when stderr is a terminal and the batch is not tiny; a log or a pipe gets nothing.
    The harvest calls `start(total)`, then the object with the number of files done after each,
    then `finish()`: the interface the web page's progress object implements too."""

    def __init__(self, label: str | None, stream=None):
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.bar = None
        self.done = 0
        self.began = 0.0

    def start(self, total: int) -> None:
        if not self.label or total < PROGRESS_FROM or not self.stream.isatty():
            return
        self.began = time.monotonic()
        self.bar = click.progressbar(length=total, label=self.label, file=self.stream, show_pos=True,
                                     show_eta=True, item_show_func=lambda rate: rate)
        self.bar.__enter__()

    def __call__(self, step: int) -> None:
        self.done += step
        if self.bar is None:
            return
        elapsed = time.monotonic() - self.began
        rate = f"{self.done / elapsed:.1f}".replace(".", ",") + " tệp/giây" if elapsed > 0 else None
        self.bar.update(step, rate)

    def finish(self) -> None:
        if self.bar is not None:
            bar, self.bar = self.bar, None
            bar.__exit__(None, None, None)


OUTPUT_FILES = ("harvest.json", "tong-hop.xlsx", "phu-luc-ii.xlsx", "phu-luc-ii.docx", RUBRIC_COPY, FEEDBACK_CSV)
# folders a harvest writes whole (phan-hoi/ is built as .part and the previous one kept as .old
# until the new one is in place)
OUTPUT_FOLDERS = (FEEDBACK_DIR, FEEDBACK_DIR + ".part", FEEDBACK_DIR + ".old")
RECEIVED = "received"
MANIFEST = ".cchc-outputs.json"  # name -> SHA-256 of each output this tool wrote in the folder
WRITING = ".cchc-dang-ghi"  # where a harvest writes its set of outputs before moving them into place


def run_harvest(rubric: Rubric, inputs: list[Path], units: list[Unit], out_dir: Path, *,
                period: Period | None = None, workers: int | None = None,
                progress_label: str | None = None, progress=None,
                limits: Limits = DEFAULT_LIMITS, previous: Path | None = None,
                previous_map: Path | None = None, deadline: date | None = None,
                profile: OfficeProfile | None = None) -> HarvestOutputs:
    """Harvest the inputs and write harvest.json, tong-hop.xlsx, phu-luc-ii.xlsx/.docx, received/ and
    the feedback messages (phan-hoi/, phan-hoi.csv, with `deadline` for re-sending) into out_dir.

    `progress`, if given, replaces the progress bar on stderr: an object with `start(total)` called
    once and called with the number of files done after each one (the web page's progress bar),
    and `finish()`, if it has one, when the files are read.
    Only one harvest writes into a folder at a time (a lock file); the outputs are never read as
    inputs, and an input file is never overwritten by an output.
    `previous` (an earlier harvest's folder, with `previous_map` for renamed or merged units):
    this harvest compared with it (compare.py).
    `profile` (the office) is kept in harvest.json and heads Phụ lục II (xlsx and docx).
    """
    profile = profile or OfficeProfile()
    earlier = load_previous(previous, previous_map) if previous else None  # before anything is written
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise folder_error(exc, out_dir, "kết quả ") from exc
    exclude = placement(inputs, out_dir)
    progress = progress if progress is not None else _Progress(progress_label)
    received = out_dir / RECEIVED
    try:
        with FolderLock(out_dir):
            result = harvest(rubric, inputs, units, period=period, received_dir=received, workers=workers,
                             progress=progress, limits=limits, exclude=exclude)
            # The set is written in a folder of its own, then moved into place file by file: a run
            # that fails half-way leaves the previous set whole, never a mix of two runs.
            writing = out_dir / WRITING
            shutil.rmtree(writing, ignore_errors=True)
            writing.mkdir()
            try:
                copy_rubric(rubric, writing)
                write_tong_hop(result, writing / "tong-hop.xlsx")
                comparison = previous_json(earlier, result) if earlier else None
                write_harvest_json(result, writing / "harvest.json", comparison, profile_json(profile))
                # the same figures `cchc rank` reads back from harvest.json, without the texts
                results = results_from_data(harvest_json(result, detail=False, previous=comparison,
                                                         profile=profile_json(profile)), rubric,
                                            out_dir / "harvest.json")
                write_phu_luc_ii(results, writing / "phu-luc-ii.xlsx", profile)
                write_phu_luc_ii_docx(results, writing / "phu-luc-ii.docx", profile)
                write_feedback(result, writing, deadline=deadline, office=profile.office_name)
                written = [name for name in OUTPUT_FILES if (writing / name).is_file()]
                keep_earlier(out_dir, OUTPUT_FILES)  # a reused folder keeps the earlier results
                for name in written:
                    os.replace(writing / name, out_dir / name)
                replace_folder(writing / FEEDBACK_DIR, out_dir / FEEDBACK_DIR)
            finally:
                shutil.rmtree(writing, ignore_errors=True)
            paths = {"phu_luc_ii": out_dir / "phu-luc-ii.xlsx", "phu_luc_ii_docx": out_dir / "phu-luc-ii.docx",
                     "tong_hop": out_dir / "tong-hop.xlsx",
                     "harvest_json": out_dir / "harvest.json", "received": received,
                     "feedback": out_dir / FEEDBACK_DIR, "feedback_csv": out_dir / FEEDBACK_CSV}
            record_outputs(out_dir, [out_dir / name for name in written])
    except OSError as exc:
        raise output_error(exc, out_dir, "kết quả") from exc
    return HarvestOutputs(out_dir, result, paths)


def placement(inputs: list[Path], out_dir: Path) -> set[str]:
    """The real paths a harvest into out_dir must not collect; OutputError if it would overwrite an input.

    The outputs (and received/, the lock, the manifest) are never inputs. An output folder inside
    an input folder is left out of that folder whole; when it is the input folder itself, its
    outputs are left out, and an existing file with an output's name that this tool did not write
    there stops the run before anything is read or written."""
    out_real = os.path.realpath(out_dir)
    own = [os.path.join(out_real, name) for name in (*OUTPUT_FILES, RECEIVED, LOCK_NAME, MANIFEST, WRITING,
                                                     *OUTPUT_FOLDERS, HISTORY)]
    exclude = set(own)
    ours = _manifest(out_dir)
    for path in inputs:
        real = os.path.realpath(path)
        folders = [os.path.join(out_real, name) for name in (RECEIVED, *OUTPUT_FOLDERS)]
        inside_output_folder = any(real.startswith(folder + os.sep) for folder in folders)
        if real in own or inside_output_folder:
            raise OutputError.of("output.input_is_output", path=display_path(path), out=display_path(out_dir))
        if not os.path.isdir(real):
            continue
        if out_real.startswith(real.rstrip(os.sep) + os.sep):
            exclude.add(out_real)  # an output folder inside an input folder is never read
        elif out_real == real:
            for name in OUTPUT_FILES:
                target = Path(out_real) / name
                if target.is_file() and ours.get(name) != file_sha256(target):
                    raise OutputError.of("output.would_overwrite_input", path=display_path(path), name=name)
            # phan-hoi/ is replaced whole: only when this tool wrote the feedback there before
            if (Path(out_real) / FEEDBACK_DIR).exists() and FEEDBACK_CSV not in ours:
                raise OutputError.of("output.would_overwrite_input", path=display_path(path), name=FEEDBACK_DIR)
    return exclude


def record_outputs(out_dir: Path, paths: list[Path]) -> None:
    """Remember the digest of each output written into out_dir (see placement)."""
    manifest = _manifest(out_dir)
    manifest.update({p.name: file_sha256(p) for p in paths})
    write_text_atomic(out_dir / MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True))


def _manifest(out_dir: Path) -> dict:
    try:
        data = json.loads((out_dir / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, str)} if isinstance(data, dict) else {}


def copy_rubric(rubric: Rubric, out_dir: Path) -> None:
    """Keep the rubric beside harvest.json, so rank and report work even for a rubric given by path."""
    if rubric.source and Path(rubric.source).is_file():
        copy_atomic(Path(rubric.source), out_dir / RUBRIC_COPY)


@dataclass(frozen=True)
class RankOutputs:
    out_dir: Path
    results: object
    path: Path
    docx: Path | None = None  # phu-luc-ii.docx, the same table as a Word document


def run_rank(harvest_dir: Path, out_dir: Path | None = None, office: str = "",
             profile: OfficeProfile | None = None) -> RankOutputs:
    """Rebuild phu-luc-ii.xlsx and phu-luc-ii.docx from DIR/harvest.json (refused while a harvest
    writes that folder).

    The office profile is the one the harvest kept, with `profile`'s keys over it; `office` is the
    option as it was before profiles (an issuing UBND, see profile.legacy_office)."""
    results = load_results(harvest_dir)
    profile = results.profile.merged(legacy_office(office)).merged(profile or OfficeProfile())
    out_dir = out_dir or harvest_dir
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        with FolderLock(out_dir):  # not while a harvest writes the same folder
            keep_earlier(out_dir, ["phu-luc-ii.xlsx", "phu-luc-ii.docx"])  # a reused folder keeps them
            path = write_phu_luc_ii(results, out_dir / "phu-luc-ii.xlsx", profile)
            docx = write_phu_luc_ii_docx(results, out_dir / "phu-luc-ii.docx", profile)
            if (out_dir / MANIFEST).is_file():
                record_outputs(out_dir, [path, docx])
    except OSError as exc:
        raise output_error(exc, out_dir, "bảng xếp hạng") from exc
    return RankOutputs(out_dir, results, path, docx)
