"""A round (đợt đánh giá): one folder holding a year's job as ordinary files.

The folder is laid out as `cchc demo` lays out its output, so a round started in the browser can
be continued with the CLI and the other way round; `dot.yaml` records what the commands need to
be given again (rubric, units file, period, office profile, deadlines).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import yaml

from cchc_xls.errors import CchcError
from cchc_xls.outputs import write_text_atomic

ROUND_FILE = "dot.yaml"
TEMPLATES = "1-mau-gui-xa"
INBOX = "2-hop-thu"
SELF_RESULTS = "3-ket-qua-tu-cham"
APPRAISAL = "4-tham-dinh"
APPRAISAL_BLANK = "mau-trong"  # inside APPRAISAL: the workbooks as written, before the council fills them
FINAL_RESULTS = "5-ket-qua-tham-dinh"
REPORTS = "6-bao-cao"
EXPLANATION = "7-giai-trinh"  # the explanation workbooks sent to the communes (filled ones come back to INBOX)
ROUND2 = "8-tham-dinh-lan-2"  # the council's round-2 workbooks as written (filled ones go to APPRAISAL)
FOLDERS = (TEMPLATES, INBOX, SELF_RESULTS, APPRAISAL, FINAL_RESULTS, REPORTS, EXPLANATION, ROUND2)
PROFILE_KEYS = ("issuer", "office", "signer_title", "signer_name", "place")
ROUND_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,60}$")  # a round's folder name (also in URLs)


@dataclass(frozen=True)
class RoundSettings:
    """What dot.yaml holds. `rubric` is a bundled id or a file name inside the round folder."""

    title: str = ""
    rubric: str = ""
    units: str = ""
    period: str = ""
    issuer: str = ""  # who issues the ranking, e.g. “UBND huyện Tứ Kỳ”
    office: str = ""  # who receives the returns, e.g. “Phòng Nội vụ huyện Tứ Kỳ”
    signer_title: str = ""
    signer_name: str = ""
    place: str = ""
    deadline: str = ""  # the communes' deadline, as people write it (15/12/2024)
    appraisal_deadline: str = ""
    explanation_deadline: str = ""  # the communes' deadline to send their explanation back


def load_round(folder: Path) -> RoundSettings:
    """Read FOLDER/dot.yaml; unknown keys are kept out, missing ones are blank."""
    path = Path(folder) / ROUND_FILE
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8-sig")) or {}
    except FileNotFoundError as exc:
        raise CchcError(f"Thư mục “{folder}” không phải một đợt đánh giá (không có {ROUND_FILE}).") from exc
    except (OSError, yaml.YAMLError) as exc:
        raise CchcError(f"Không đọc được {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise CchcError(f"Tệp {path} không đúng dạng (cần các dòng khóa: giá trị).")
    known = {f.name for f in fields(RoundSettings)}
    return RoundSettings(**{k: "" if v is None else str(v) for k, v in data.items() if k in known})


def save_round(folder: Path, settings: RoundSettings) -> Path:
    """Write FOLDER/dot.yaml whole (a commented, human-editable file)."""
    Path(folder).mkdir(parents=True, exist_ok=True)
    text = ("# Đợt đánh giá Chỉ số CCHC: do cchc serve hoặc cchc demo ghi; có thể sửa bằng tay.\n"
            + yaml.safe_dump(asdict(settings), allow_unicode=True, sort_keys=False, width=1000))
    return write_text_atomic(Path(folder) / ROUND_FILE, text)


def is_round(folder: Path) -> bool:
    """A folder with a dot.yaml is a round."""
    return (Path(folder) / ROUND_FILE).is_file()


def latest_results(folder: Path) -> Path | None:
    """The results the ranking and reports use: after appraisal if merged, else the self scores."""
    for name in (FINAL_RESULTS, SELF_RESULTS):
        if (Path(folder) / name / "harvest.json").is_file():
            return Path(folder) / name
    return None


def appraisal_inputs(folder: Path) -> list[Path]:
    """The council's returned workbooks: everything in 4-tham-dinh except the blank copies."""
    base = Path(folder) / APPRAISAL
    if not base.is_dir():
        return []
    return sorted(p for p in base.iterdir() if p.name != APPRAISAL_BLANK and not p.name.startswith("."))
