"""Benchmark: `cchc generate` and `cchc harvest` as whole commands, against the naive approach.

For each size N it builds N realistic returned workbooks of `thai-nguyen-2021` (the largest
bundled rubric: 119 criteria, every one filled, evidence and explanation texts of realistic
length), then times, over several runs (median reported):

- `cchc generate` of N templates,
- `cchc harvest` of the N returns (every check of the harvest included),
- the naive approach: `openpyxl.load_workbook` of each return plus summing its scores,

and reports each command's peak memory (the largest resident set of the command or of any of
its worker processes, from the kernel's rusage) and our harvest time as a ratio of the naive
time. Run with `make bench`, or `python benchmarks/bench.py --sizes 100,1000 --runs 3`.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from decimal import Decimal
from pathlib import Path

from cchc_xls.generate import Entries, Options, render_template
from cchc_xls.layout import MAIN_SHEET
from cchc_xls.rubric import load_rubric
from cchc_xls.units import Unit, parse_period

RUBRIC = "thai-nguyen-2021"
ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "output" / "bench"
CCHC = [sys.executable, "-m", "cchc_xls"]


def _unit(i: int) -> Unit:
    return Unit(f"{10000 + i}", f"Xã Thử Nghiệm {i}", "xã")


def _returned(args) -> None:
    """One commune's return: every criterion scored, evidence and explanations as people write."""
    index, folder = args
    rubric = load_rubric(RUBRIC)
    rnd = random.Random(index)
    scores, evidence, explanations = {}, {}, {}
    for leaf in rubric.scorable():
        steps = int(leaf.max / Decimal("0.25"))
        score = Decimal("0.25") * rnd.randint(max(0, steps - 2), steps)
        scores[leaf.code] = score
        evidence[leaf.code] = (
            f"Kế hoạch số {rnd.randint(1, 200)}/KH-UBND ngày {rnd.randint(1, 28)}/{rnd.randint(1, 12)}/2024 "
            f"của UBND xã về {leaf.label[:60].lower()}; Báo cáo số {rnd.randint(1, 300)}/BC-UBND, "
            f"kết quả thực hiện đạt {rnd.randint(80, 100)}% kế hoạch năm"
        )
        if score < leaf.max:
            explanations[leaf.code] = "Chưa hoàn thành đầy đủ do thiếu kinh phí và nhân lực; sẽ khắc phục trong năm tới."
    options = Options(office="Sở Nội vụ (thử nghiệm)", batch="benchmrk", generated_at="2024-11-01T00:00:00+00:00")
    render_template(Path(folder) / f"{_unit(index).code}_tra-ve.xlsx", rubric, _unit(index), parse_period("2024"),
                    options, Entries(scores=scores, evidence=evidence, explanations=explanations))


def build_corpus(n: int) -> tuple[Path, Path]:
    folder = WORK / f"returns-{n}"
    units = WORK / f"units-{n}.csv"
    done = folder / ".complete"
    if not done.exists():
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        with ProcessPoolExecutor() as pool:
            list(pool.map(_returned, [(i, str(folder)) for i in range(n)], chunksize=25))
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


def naive(folder: Path) -> float:
    """openpyxl.load_workbook of each return and a sum of its scores: what a script would do."""
    from openpyxl import load_workbook

    start = time.perf_counter()
    for path in sorted(folder.glob("*.xlsx")):
        workbook = load_workbook(path)
        sheet = workbook[MAIN_SHEET]
        total = Decimal(0)
        for row in sheet.iter_rows(min_row=10, values_only=True):
            value = row[3] if len(row) > 3 else None
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                total += Decimal(repr(value))
        workbook.close()
    return time.perf_counter() - start


def median_of(runs: int, args: list[str]) -> tuple[float, int]:
    results = [run_command(args) for _ in range(runs)]
    return statistics.median(t for t, _ in results), max(m for _, m in results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000,3321", help="comma-separated numbers of communes")
    parser.add_argument("--runs", type=int, default=3, help="runs per command (median reported)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    WORK.mkdir(parents=True, exist_ok=True)
    print(f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"{platform.system()} {platform.release()}; rubric {RUBRIC}; median of {args.runs} runs")
    rows = []
    for n in sizes:
        folder, units = build_corpus(n)
        out_generate = WORK / f"generate-{n}"
        out_harvest = WORK / f"harvest-{n}"
        gen_time, gen_mem = median_of(args.runs, CCHC + [
            "generate", RUBRIC, "--units", str(units), "--period", "2024", "--out", str(out_generate)])
        har_time, har_mem = median_of(args.runs, CCHC + [
            "harvest", RUBRIC, str(folder), "--units", str(units), "--out", str(out_harvest), "--period", "2024"])
        naive_time = naive(folder)
        rows.append((n, gen_time, gen_mem, har_time, har_mem, naive_time))
        print(f"  N={n}: done", file=sys.stderr)
    header = ("N", "generate s", "generate MB", "harvest s", "harvest MB", "naive openpyxl s", "harvest/naive",
              "harvest ms/file")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for n, gen_time, gen_mem, har_time, har_mem, naive_time in rows:
        print(f"| {n} | {gen_time:.1f} | {gen_mem / 1024:.0f} | {har_time:.1f} | {har_mem / 1024:.0f} | "
              f"{naive_time:.1f} | {har_time / naive_time:.2f} | {har_time / n * 1000:.1f} |")


if __name__ == "__main__":
    main()
