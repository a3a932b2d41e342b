"""The user guide's pictures (docs/img/*.png), taken from the real page in headless Chromium.

    .venv/bin/python docs/screenshots.py

Plays the demo into a temporary data folder, serves the page on a free port and photographs each
step; also a new round whose units list has mistakes, to show how problems are reported.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

import threading  # noqa: E402

from browser import chromium, served  # noqa: E402

from cchc_xls.demo import run_demo  # noqa: E402
from cchc_xls.web import create_app  # noqa: E402

WIDTH = 1200
SHOTS = [  # (file, path, height of the picture, what to scroll to first: a CSS selector, or None)
    ("trang-dau.png", "/", 520, None),
    ("gui-phieu.png", "/dot/demo/gui", 760, None),
    ("nhan-phieu.png", "/dot/demo/nhan", 1000, None),
    ("don-vi.png", "/dot/demo/don-vi/M07?nguon=tu-cham", 820, None),
    ("tham-dinh.png", "/dot/demo/tham-dinh", 700, None),
    ("giai-trinh.png", "/dot/demo/giai-trinh", 1120, None),
    ("tham-dinh-lan-2.png", "/dot/demo/giai-trinh", 820, "#round2-step"),
    ("lich-su-diem.png", "/dot/demo/don-vi/M07", 420, "#history-step"),
    ("ket-qua.png", "/dot/demo/ket-qua", 900, "figure.chart"),  # the chart, below the downloads and the table
]
BAD_UNITS = "code,name\nX01,Xã Một\nX01,Xã Hai\n,Xã Ba\nX 04,Xã Bốn\n"


def main() -> None:
    out = HERE / "img"
    out.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="cchc-anh-") as tmp:
        root = Path(tmp) / "cchc"
        run_demo(root / "demo")
        units = Path(tmp) / "don-vi-co-loi.csv"
        units.write_text(BAD_UNITS, encoding="utf-8")
        app = create_app(root)
        with served(app) as base, chromium(WIDTH, 900) as driver:
            for name, path, height, scroll in SHOTS:
                driver.set_window_size(WIDTH, height)
                driver.get(base + path)
                if scroll:
                    driver.execute_script(f"document.querySelector('{scroll}').scrollIntoView()")
                time.sleep(0.3)
                driver.save_screenshot(str(out / name))
            # the progress bar: the real page following a job held at 7 of 17 files (a real harvest
            # of the demo's inbox is over before a picture can be taken)
            release = threading.Event()
            job = app.extensions["cchc_jobs"].start(str(root / "demo"), "thu", lambda job: release.wait(30) and "")
            job.start(17)
            job(7)
            driver.set_window_size(WIDTH, 420)
            driver.get(base + "/dot/demo/nhan")
            time.sleep(0.8)
            driver.save_screenshot(str(out / "tien-do.png"))
            release.set()
            time.sleep(0.5)
            # a new round, set up with a units list that has mistakes
            driver.set_window_size(WIDTH, 900)
            driver.get(base + "/")
            driver.find_element("name", "title").send_keys("Chỉ số CCHC năm 2025")
            driver.find_element("name", "name").send_keys("cchc-2025")
            driver.find_element("name", "period").send_keys("2025")
            driver.find_element("xpath", "//button[normalize-space()='Tạo đợt']").click()
            time.sleep(0.3)
            driver.find_element("css selector", "input[name=rubric_choice][value='hai-duong-2022']").click()
            driver.find_element("name", "units_file").send_keys(str(units))
            driver.find_element("xpath", "//button[normalize-space()='Lưu thiết lập']").click()
            time.sleep(0.3)
            driver.execute_script("document.querySelector('fieldset div.flash.error').scrollIntoView({block: 'center'})")
            driver.save_screenshot(str(out / "thiet-lap.png"))
    for name in sorted(p.name for p in out.glob("*.png")):
        print(name, (out / name).stat().st_size // 1024, "KB")


if __name__ == "__main__":
    main()
