"""Benchmark: `cchc generate` and `cchc harvest` as whole commands, against the naive approach,
on returns as real spreadsheet programs save them.

For each size N it builds N returned workbooks of `thai-nguyen-2021` (the largest bundled
rubric: 119 criteria, every one filled, evidence and explanation texts of realistic length), in
the mix an office receives:

- `openpyxl`: the template filled and saved by openpyxl (no cached formula results, as a script
  or a program that does not recalculate leaves it),
- `lo-xlsx`: re-saved by LibreOffice as .xlsx (shared strings, its own styles, recalculated),
- `ods`: re-saved by LibreOffice as .ods,
- `xls`: saved by LibreOffice as Excel 97-2003 .xls.

LibreOffice converts a pool of filled returns once (one soffice call per format); the pool's
files are cloned for the other communes, which keeps the corpus build to a few minutes. A clone
must look like another commune's return, not a copy (a copy would set off the cross-commune
evidence rules on every criterion): the pool's evidence texts carry placeholders where the
document numbers, dates and percentages go, and each clone gets its own digits in their place,
as well as its own unit code (placeholders and digits, code and code, have the same length in
characters, so the .xls's binary records keep their structure).

Then it times, over several runs (median reported), as whole commands:

- `cchc generate` of N templates,
- `cchc harvest` of the N mixed returns (every check of the harvest included),
- the naive approach: `openpyxl.load_workbook` of each .xlsx return plus summing its scores
  (openpyxl cannot open .ods or .xls: its time per .xlsx file is applied to all N files),
- `cchc harvest` of 300 returns of each kind alone, for the cost per file of each kind,

and reports each command's peak memory (the largest resident set of the command or of any of
its worker processes, from the kernel's rusage). Run with `make bench`, or
`python benchmarks/bench.py --sizes 300,3321 --runs 3`.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from concurrent.futures import ProcessPoolExecutor
from decimal import Decimal
from pathlib import Path

from cchc_xls.generate import Options, render_template
from cchc_xls.layout import MAIN_SHEET
from cchc_xls.rubric import load_rubric
from cchc_xls.units import Unit, parse_period

RUBRIC = "thai-nguyen-2021"
ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "output" / "bench"
CCHC = [sys.executable, "-m", "cchc_xls"]
KINDS = ("openpyxl", "lo-xlsx", "ods", "xls")
MIX = {"openpyxl": 0.55, "lo-xlsx": 0.25, "ods": 0.12, "xls": 0.08}  # shares of the corpus
SUFFIX = {"openpyxl": ".xlsx", "lo-xlsx": ".xlsx", "ods": ".ods", "xls": ".xls"}
POOL = 24  # distinct returns LibreOffice converts per format
PER_KIND = 300  # returns of one kind harvested alone, for the cost per file of each kind
CORPUS_VERSION = "3"  # bump when the way returns are built changes


def _code(i: int, prefix: str = "X") -> str:
    return f"{prefix}{100000 + i}"  # fixed length: a clone's bytes differ only in these seven characters


def _unit(i: int, prefix: str = "X") -> Unit:
    code = _code(i, prefix)
    return Unit(code, f"Xã Thử Nghiệm {code}", "xã")


# A placeholder in a pool file's evidence: a marker, the slot's id, then fillers up to the width
# of the digits that replace it (one character each, so UTF-16 strings keep their length).
MARK, FILL, FIRST_ID = "\uf8ff", "\uf8fe", 0xE000
PLACEHOLDER = re.compile("\uf8ff([\ue000-\uefff])\uf8fe*")
WIDTHS = (3, 2, 2, 2)  # a slot's kind is its id modulo 4: document number, day, month, percent


def _placeholder(slot: int) -> str:
    return MARK + chr(FIRST_ID + slot) + FILL * (WIDTHS[slot % 4] - 2)


def _digits(rnd: random.Random, slot: int) -> str:
    """What a clerk writes in a slot: a document number, a day, a month, a percentage."""
    low, high = ((1, 299), (1, 28), (1, 12), (80, 99))[slot % 4]
    return str(rnd.randint(low, high)).zfill(WIDTHS[slot % 4])


def _evidence(leaf, number) -> str:
    """A criterion's evidence as communes write it; number(kind) gives each figure in turn."""
    return (f"Kế hoạch số {number(0)}/KH-UBND ngày {number(1)}/{number(2)}/2024 "
            f"của UBND xã về {leaf.label[:60].lower()}; Báo cáo số {number(0)}/BC-UBND, "
            f"kết quả thực hiện đạt {number(3)}% kế hoạch năm")


def _filled(args) -> None:
    """One commune's return, typed into the template with openpyxl as a person's program saves it:
    every criterion scored, evidence and explanations as people write them. A pool file (for
    LibreOffice to convert and the clones to copy) has placeholders where the figures go."""
    index, path, prefix = args
    from openpyxl import load_workbook

    rubric = load_rubric(RUBRIC)
    unit = _unit(index, prefix)
    options = Options(office="Sở Nội vụ (thử nghiệm)", batch="benchmrk", generated_at="2024-11-01T00:00:00+00:00")
    render_template(Path(path), rubric, unit, parse_period("2024"), options)
    rnd = random.Random(index)
    workbook = load_workbook(path)
    sheet = workbook[MAIN_SHEET]
    rows = {}
    for row in range(1, sheet.max_row + 1):
        value = sheet.cell(row, 1).value
        if isinstance(value, str):
            rows.setdefault(value.strip(), row)
    header = next(r for r in range(1, 30) if sheet.cell(r, 1).value == "STT")
    cols = {sheet.cell(header, c).value: c for c in range(1, sheet.max_column + 1)}
    used = [0, 0, 0, 0]  # slots taken, per kind

    def number(kind: int) -> str:
        slot, used[kind] = 4 * used[kind] + kind, used[kind] + 1
        return _placeholder(slot) if prefix == "P" else _digits(rnd, slot)

    for leaf in rubric.scorable():
        if not leaf.applies(unit.kind):
            continue
        steps = int(leaf.max / Decimal("0.25"))
        score = Decimal("0.25") * rnd.randint(max(0, steps - 2), steps)
        row = rows[leaf.code]
        sheet.cell(row, cols["Điểm tự đánh giá"]).value = float(score)
        sheet.cell(row, cols["Tài liệu kiểm chứng"]).value = _evidence(leaf, number)
        if score < leaf.max:
            sheet.cell(row, cols["Nội dung giải trình"]).value = (
                "Chưa hoàn thành đầy đủ do thiếu kinh phí và nhân lực; sẽ khắc phục trong năm tới.")
    workbook.save(path)


def _convert(paths: list[Path], fmt: str, out_dir: Path) -> None:
    """One soffice call converting every file of the pool (LibreOffice recalculates on load)."""
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if not soffice:
        raise SystemExit("LibreOffice (soffice) is needed to build the benchmark corpus: apt-get install libreoffice-calc-nogui")
    out_dir.mkdir(parents=True, exist_ok=True)
    profile = Path(tempfile.mkdtemp(prefix="bench-lo-"))
    try:
        subprocess.run([soffice, f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to", fmt,
                        "--outdir", str(out_dir), *map(str, paths)], check=True, capture_output=True, timeout=1800)
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def _clone(source: Path, old: str, new: str, target: Path, seed: int) -> None:
    """A pool return made another commune's: its unit code rewritten in every part, and its own
    figures in the evidence's placeholders."""
    rnd = random.Random(seed)
    figures: dict[int, str] = {}

    def figure(slot: int) -> str:
        if slot not in figures:
            figures[slot] = _digits(rnd, slot)
        return figures[slot]

    data = source.read_bytes()
    if data[:4] != b"PK\x03\x04":  # .xls: an OLE container of UTF-16 strings; same lengths keep every offset
        marker, filler = (ch.encode("utf-16-le") for ch in (MARK, FILL))
        # the slot's id is a character U+E000-U+EFFF: its second byte says so; a placeholder that
        # a record boundary splits gets as many digits as fit before the boundary
        wide = re.compile(re.escape(marker) + b"(.[\xe0-\xef])(?:" + re.escape(filler) + b")*", re.S)
        size = len(data)
        data = wide.sub(lambda m: figure(ord(m.group(1).decode("utf-16-le")) - FIRST_ID)[:len(m.group(0)) // 2]
                        .encode("utf-16-le"), data)
        for encoding in ("utf-16-le", "latin-1"):
            data = data.replace(old.encode(encoding), new.encode(encoding))
        if len(data) != size:
            raise SystemExit(f"cloning {source} changed its size: the benchmark's placeholders need fixing")
        target.write_bytes(data)
        return
    buffer = io.BytesIO()
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(buffer, "w") as dst:
        for info in src.infolist():
            part = src.read(info)
            if info.filename.endswith((".xml", ".rels")) or info.filename == "mimetype":
                text = PLACEHOLDER.sub(lambda m: figure(ord(m.group(1)) - FIRST_ID), part.decode("utf-8"))
                part = text.replace(old, new).encode("utf-8")
            dst.writestr(info, part, compress_type=info.compress_type)
    target.write_bytes(buffer.getvalue())


def _plan(n: int) -> list[str]:
    """The kind of each of the N returns, in the corpus's mix, interleaved."""
    counts = {kind: int(n * share) for kind, share in MIX.items()}
    counts["openpyxl"] += n - sum(counts.values())
    kinds = [kind for kind, count in counts.items() for _ in range(count)]
    random.Random(n).shuffle(kinds)
    return kinds


def _pool(kind: str) -> list[tuple[str, Path]]:
    """(unit code, file) of the LibreOffice-saved pool of one kind, built once."""
    folder = WORK / f"pool-v{CORPUS_VERSION}" / kind
    done = folder / ".complete"
    if not done.exists():
        shutil.rmtree(folder, ignore_errors=True)
        source = WORK / f"pool-v{CORPUS_VERSION}" / "filled"
        source.mkdir(parents=True, exist_ok=True)
        paths = [source / f"{_code(i, 'P')}.xlsx" for i in range(POOL)]
        missing = [(i, str(p), "P") for i, p in enumerate(paths) if not p.exists()]
        with ProcessPoolExecutor() as pool:
            list(pool.map(_filled, missing))
        fmt = {"lo-xlsx": "xlsx:Calc MS Excel 2007 XML", "ods": "ods", "xls": "xls:MS Excel 97"}[kind]
        _convert(paths, fmt, folder)
        done.write_text("ok")
    return [(_code(i, "P"), folder / f"{_code(i, 'P')}{SUFFIX[kind]}") for i in range(POOL)]


def _write_one(args) -> None:
    index, kind, folder = args
    target = Path(folder) / f"{_code(index)}_tra-ve{SUFFIX[kind]}"
    if kind == "openpyxl":
        _filled((index, str(target), "X"))
    else:
        code, source = _pool(kind)[index % POOL]
        _clone(source, code, _code(index), target, seed=index)


def build_corpus(n: int, kinds: list[str] | None = None, name: str | None = None) -> tuple[Path, Path]:
    """N returns in the mix (or all of the given kinds), and the units file; built once, reused."""
    kinds = kinds or _plan(n)
    folder = WORK / f"v{CORPUS_VERSION}-{name or 'returns'}-{n}"
    units = WORK / f"v{CORPUS_VERSION}-units-{n}.csv"
    done = folder.with_name(folder.name + ".complete")  # beside the folder: not an input of the harvest
    if not done.exists():
        for kind in set(kinds) - {"openpyxl"}:
            _pool(kind)
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        with ProcessPoolExecutor() as pool:
            list(pool.map(_write_one, [(i, kind, str(folder)) for i, kind in enumerate(kinds)], chunksize=25))
        done.write_text("ok")
    units.write_text("code,name,kind\n" + "".join(f"{_unit(i).code},{_unit(i).name},xã\n" for i in range(n)),
                     encoding="utf-8")
    return folder, units


def run_command(args: list[str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (KB) of a whole command, its worker processes included."""
    start = time.perf_counter()
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed: {process.stderr.read().decode()[-2000:]}")
    return elapsed, usage.ru_maxrss


def naive(folder: Path) -> tuple[float, int]:
    """openpyxl.load_workbook of each .xlsx return and a sum of its scores: what a script would
    do. Returns (seconds, files read)."""
    from openpyxl import load_workbook

    files = sorted(folder.glob("*.xlsx"))
    start = time.perf_counter()
    for path in files:
        workbook = load_workbook(path)
        sheet = workbook[MAIN_SHEET]
        total = Decimal(0)
        for row in sheet.iter_rows(min_row=10, values_only=True):
            value = row[3] if len(row) > 3 else None
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                total += Decimal(repr(value))
        workbook.close()
    return time.perf_counter() - start, len(files)


def median_of(runs: int, args: list[str]) -> tuple[float, int]:
    results = [run_command(args) for _ in range(runs)]
    return statistics.median(t for t, _ in results), max(m for _, m in results)


def harvest_args(folder: Path, units: Path, out: Path) -> list[str]:
    return CCHC + ["harvest", RUBRIC, str(folder), "--units", str(units), "--out", str(out), "--period", "2024"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="300,3321", help="comma-separated numbers of communes")
    parser.add_argument("--runs", type=int, default=3, help="runs per command (median reported)")
    parser.add_argument("--no-kinds", action="store_true", help="skip the cost per kind of file")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    WORK.mkdir(parents=True, exist_ok=True)
    print(f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"{platform.system()} {platform.release()}; rubric {RUBRIC}; median of {args.runs} runs")
    print(f"Corpus mix: " + ", ".join(f"{kind} {share:.0%}" for kind, share in MIX.items()))
    rows = []
    for n in sizes:
        folder, units = build_corpus(n)
        gen_time, gen_mem = median_of(args.runs, CCHC + [
            "generate", RUBRIC, "--units", str(units), "--period", "2024", "--out", str(WORK / f"generate-{n}")])
        har_time, har_mem = median_of(args.runs, harvest_args(folder, units, WORK / f"harvest-{n}"))
        naive_time, naive_files = naive(folder)
        naive_all = naive_time / max(naive_files, 1) * n
        rows.append((n, gen_time, gen_mem, har_time, har_mem, naive_all))
        print(f"  N={n}: done", file=sys.stderr)
    header = ("N", "generate s", "generate MB", "harvest s", "harvest MB", "naive openpyxl s", "harvest/naive",
              "harvest ms/file")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for n, gen_time, gen_mem, har_time, har_mem, naive_all in rows:
        print(f"| {n:,} | {gen_time:.1f} | {gen_mem / 1024:.0f} | {har_time:.1f} | {har_mem / 1024:.0f} | "
              f"{naive_all:.1f} | {har_time / naive_all:.3f} | {har_time / n * 1000:.1f} |")
    if args.no_kinds:
        return
    print()
    print("| kind of file | files | harvest s | harvest MB | harvest ms/file | naive ms/file |")
    print("|---|---|---|---|---|---|")
    for kind in KINDS:
        folder, units = build_corpus(PER_KIND, [kind] * PER_KIND, name=kind)
        har_time, har_mem = median_of(args.runs, harvest_args(folder, units, WORK / f"harvest-{kind}"))
        naive_text = "-"
        if SUFFIX[kind] == ".xlsx":
            naive_time, files = naive(folder)
            naive_text = f"{naive_time / files * 1000:.1f}"
        print(f"| {kind} | {PER_KIND} | {har_time:.2f} | {har_mem / 1024:.0f} | {har_time / PER_KIND * 1000:.1f} | "
              f"{naive_text} |")


if __name__ == "__main__":
    main()
