"""Rubrics as data: load a YAML rubric file, validate all of it at once, return a frozen Rubric.

The file format is documented in docs/rubric-format.md. Every number is read as an exact
Decimal straight from the YAML text, so `0.1` in the file is 0.1, not a float near it.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import yaml

from cchc_xls.errors import RubricError
from cchc_xls.findings import Finding, has_errors, make
from cchc_xls.numbers import ZERO, normalize, to_decimal
from cchc_xls.resources import data_dir

UNIT_KINDS = ("xã", "phường", "đặc khu", "thị trấn")  # thị trấn: only in years before July 2025
NA_POLICIES = ("rescale", "full_marks")
SANCTIONS = ("no_top_band", "max_band", "drop_one_band")
BONUS, PENALTY = "bonus", "penalty"
PART_LABELS = {BONUS: "điểm thưởng", PENALTY: "điểm trừ"}
SANCTION_LABELS = {"no_top_band": "không xếp loại cao nhất", "drop_one_band": "hạ một mức xếp loại",
                   "max_band": "không xếp trên mức {band}"}

RUBRIC_KEYS = {
    "id", "title", "version", "unit_level", "legal_basis", "total", "na_policy",
    "na_policy_note", "evidence_required", "groups", "tree", "bonus", "penalty", "ranking_groups",
    "index_as_percent",
}
REQUIRED_RUBRIC_KEYS = ("id", "title", "legal_basis", "total", "groups", "tree")
LEGAL_KEYS = {"document", "date", "issuer", "province", "note"}
REQUIRED_LEGAL_KEYS = ("document", "date", "issuer", "province")
GROUPS_KEYS = {"assumed", "note", "bands"}
BAND_KEYS = {"name", "min", "max_share"}
EXTRA_KEYS = {"max", "items"}
ITEM_KEYS = {"code", "label", "max", "method", "levels", "step", "evidence_required", "evidence_window"}
PENALTY_ITEM_KEYS = ITEM_KEYS | {"sanction"}
NODE_KEYS = {
    "code", "label", "max", "children", "method", "levels", "step", "self_scored",
    "applies_to", "may_be_na", "evidence_required", "evidence_window",
}
LEAF_ONLY_KEYS = ("method", "levels", "step", "self_scored", "applies_to", "may_be_na", "evidence_required",
                  "evidence_window")
LEVEL_KEYS = {"points", "text"}

_CODE = re.compile(r"^[0-9A-Z]+(?:\.[0-9A-Za-z]+)*$")


class _DecimalLoader(yaml.SafeLoader):
    """SafeLoader that reads YAML floats as exact Decimals."""


def _construct_decimal(loader, node):
    text = loader.construct_scalar(node)
    try:
        return Decimal(text.replace("_", ""))
    except ArithmeticError:  # YAML 1.1 floats Decimal does not read (1:30.5): reported as bad values
        return text


_DecimalLoader.add_constructor("tag:yaml.org,2002:float", _construct_decimal)


@dataclass(frozen=True)
class Level:
    points: Decimal
    text: str = ""


@dataclass(frozen=True)
class Band:
    name: str
    min: Decimal
    max_share: Decimal | None = None  # at most this share of the ranked units keep the band


@dataclass(frozen=True)
class Extra:
    """The bonus (điểm thưởng) or the penalty (điểm trừ) part: its items and the most that counts."""

    part: str  # BONUS | PENALTY
    max: Decimal
    items: tuple["Node", ...]


@dataclass(frozen=True)
class LegalBasis:
    document: str
    date: str
    issuer: str
    province: str
    note: str = ""

    def describe(self) -> str:
        """“Quyết định số 4203/QĐ-UBND ngày 30/12/2021 của Chủ tịch UBND tỉnh Thái Nguyên”."""
        return f"{self.document} ngày {format_date_vn(self.date)} của {self.issuer}"


@dataclass(frozen=True)
class Node:
    """A rubric node: an area, a criterion or a sub-criterion. Parents never carry a score."""

    code: str
    label: str
    max: Decimal
    children: tuple["Node", ...] = ()
    parent: str | None = None
    depth: int = 0
    method: str = ""
    levels: tuple[Level, ...] = ()
    step: Decimal | None = None
    self_scored: bool = True
    applies_to: tuple[str, ...] = ()
    may_be_na: bool = False
    evidence_required: bool = True
    evidence_window: tuple[str, str] | None = None  # ("{year-1}-10-01", "{year-1}-12-31"): when cited documents date
    part: str = ""  # "" for the tree; BONUS or PENALTY for the items added after it
    sanction: str = ""  # penalty items only: one of SANCTIONS
    sanction_band: str = ""  # the band named by `max_band`

    def sanction_text(self) -> str:
        """The sanction in the words users read: “không xếp trên mức Tốt”; "" when none."""
        return SANCTION_LABELS[self.sanction].format(band=self.sanction_band) if self.sanction else ""

    @property
    def is_leaf(self) -> bool:
        return not self.children

    def applies(self, kind: str | None) -> bool:
        """Whether this criterion applies to a unit of this kind (all kinds when unrestricted)."""
        return not self.applies_to or kind is None or kind in self.applies_to

    def leaves(self):
        if self.is_leaf:
            yield self
        else:
            for child in self.children:
                yield from child.leaves()

    def walk(self):
        yield self
        for child in self.children:
            yield from child.walk()

    def allowed_text(self) -> str:
        """What a score may be, in the words of the error message a commune sees."""
        from cchc_xls.numbers import format_vn

        if self.levels:
            return "chỉ chọn một trong các mức: " + "; ".join(format_vn(lv.points) for lv in self.levels)
        if self.step:
            return f"số từ 0 đến {format_vn(self.max)}, theo bước {format_vn(self.step)}"
        return f"số từ 0 đến {format_vn(self.max)}"

    def example_score(self) -> Decimal:
        """A score a message may show as an example: always one this criterion allows, with a
        decimal part where one is allowed (so that the example shows the decimal comma)."""
        if self.levels:
            points = [lv.points for lv in self.levels]
            return next((p for p in points if p != p.to_integral_value()), points[len(points) // 2])
        if self.step:
            return self.max - self.step if self.max > self.step else self.max
        return Decimal("2.5") if self.max >= Decimal("2.5") else self.max / 2


@dataclass(frozen=True)
class Rubric:
    id: str
    title: str
    version: str
    unit_level: str
    legal_basis: LegalBasis
    total: Decimal
    na_policy: str
    na_policy_note: str
    bands: tuple[Band, ...]
    bands_assumed: bool
    bands_note: str
    roots: tuple[Node, ...]
    source: str = ""
    content_hash: str = ""
    bonus: Extra | None = None
    penalty: Extra | None = None
    ranking_groups: tuple[tuple[str, ...], ...] = ()  # kinds ranked together; () = one ranking
    index_as_percent: bool = False
    _index: dict = field(default_factory=dict, repr=False, compare=False)
    _cache: dict = field(default_factory=dict, repr=False, compare=False)  # node lists, computed once

    def nodes(self) -> list[Node]:
        """Every node in rubric order (pre-order), then the bonus and the penalty items."""
        if "nodes" not in self._cache:
            self._cache["nodes"] = tuple(n for root in self.roots for n in root.walk()) + \
                tuple(item for extra in self.extras() for item in extra.items)
        return list(self._cache["nodes"])

    def extras(self) -> list[Extra]:
        """The bonus and penalty parts the rubric has, in that order."""
        return [extra for extra in (self.bonus, self.penalty) if extra is not None]

    def leaves(self) -> list[Node]:
        if "leaves" not in self._cache:
            self._cache["leaves"] = tuple(n for n in self.nodes() if n.is_leaf)
        return list(self._cache["leaves"])

    def scorable(self) -> list[Node]:
        """The leaves a commune scores itself."""
        return [n for n in self.leaves() if n.self_scored]

    def node(self, code: str) -> Node:
        return self._index[code]

    def __contains__(self, code: str) -> bool:
        return code in self._index

    def areas(self) -> list[Node]:
        """The areas (Lĩnh vực) as reports name them: the top level, except that a top-level part
        made only of areas (Hải Dương's part I) is replaced by those areas."""
        result = []
        for root in self.roots:
            if root.children and all(not child.is_leaf for child in root.children):
                result.extend(root.children)
            else:
                result.append(root)
        return result

    def self_max(self) -> Decimal:
        """The most a commune can give itself in the tree (the survey criteria excluded)."""
        return sum((n.max for n in self.scorable() if not n.part), ZERO)

    def band_index(self, total: Decimal) -> int:
        """The position in `bands` of the band a total alone gives."""
        for index, band in enumerate(self.bands):
            if total >= band.min:
                return index
        return len(self.bands) - 1

    def ranking_group_of(self, kind: str | None) -> str | None:
        """The name of the ranking group a unit of this kind is ranked in (None: one ranking)."""
        if not self.ranking_groups:
            return None
        for kinds in self.ranking_groups:
            if kind in kinds:
                return ranking_group_name(kinds)
        return OTHER_RANKING_GROUP

    def ranking_group_names(self) -> list[str]:
        """Every ranking group's name in the rubric's order ([] when there is one ranking)."""
        return [ranking_group_name(kinds) for kinds in self.ranking_groups]

    def group_for(self, total: Decimal | None) -> str | None:
        """The band a total alone falls in (Xuất sắc, Tốt, ...), by the rubric's thresholds: before
        any penalty sanction or share cap (score.assign_bands applies those)."""
        if total is None or not self.bands:
            return None
        return self.bands[self.band_index(total)].name


OTHER_RANKING_GROUP = "đơn vị chưa rõ loại"


def ranking_group_name(kinds: tuple[str, ...]) -> str:
    """“xã, đặc khu”: the kinds of a ranking group as headings and harvest.json name it."""
    return ", ".join(kinds)


def format_date_vn(iso: str) -> str:
    """2021-12-30 -> 30/12/2021; anything else is returned as written."""
    match = re.match(r"^(\d{4})-(\d{2})-(\d{2})$", str(iso))
    if not match:
        return str(iso)
    year, month, day = match.groups()
    return f"{day}/{month}/{year}"


def nfc(text) -> str:
    return unicodedata.normalize("NFC", str(text)).strip()


# --------------------------------------------------------------------------------------------
# Finding rubric files


def rubrics_dir() -> Path:
    """The bundled rubrics: the repository's `rubrics/` in a checkout, else the installed copy."""
    return data_dir("rubrics")


def bundled_rubric_paths() -> list[Path]:
    return sorted(rubrics_dir().glob("*.yaml"))


def resolve_rubric(id_or_path: str | Path) -> Path:
    """A bundled rubric id (`hai-duong-2022`) or a path to a rubric file."""
    path = Path(id_or_path)
    if path.suffix.lower() in (".yaml", ".yml") or path.exists():
        if not path.is_file():
            raise RubricError.of("rubric_load.file_missing", path=path)
        return path
    candidate = rubrics_dir() / f"{id_or_path}.yaml"
    if candidate.is_file():
        return candidate
    known = ", ".join(p.stem for p in bundled_rubric_paths()) or "(không có)"
    raise RubricError.of("rubric_load.unknown_id", id=id_or_path, known=known)


def load_rubric(id_or_path: str | Path) -> Rubric:
    """Load and validate a rubric; raise RubricError carrying every finding if any is an error."""
    path = resolve_rubric(id_or_path)
    rubric, findings = check_rubric_file(path)
    if rubric is None:
        lines = "\n".join(str(f) for f in findings if f.is_error)
        raise RubricError.of("rubric_load.invalid", findings, path=path, lines=lines)
    return rubric


def check_rubric_file(path: str | Path) -> tuple[Rubric | None, list[Finding]]:
    """Validate a rubric file; return the rubric (None when any error) and every finding."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
        data = yaml.load(text, Loader=_DecimalLoader)  # noqa: S506 - a SafeLoader subclass
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        return None, [make("rubric.unreadable", file=path.name, reason=_short(exc))]
    return parse_rubric(data, source=str(path))


def parse_rubric(data, source: str = "") -> tuple[Rubric | None, list[Finding]]:
    """Validate parsed YAML data; return the rubric (None when any error) and every finding."""
    checker = _Checker(Path(source).name if source else None)
    rubric = checker.rubric(data, source)
    findings = checker.findings
    return (None if has_errors(findings) else rubric), findings


def _short(exc: Exception) -> str:
    return " ".join(str(exc).split())[:300]


class _Checker:
    """Walks the YAML data once, building nodes and collecting every finding on the way."""

    def __init__(self, file: str | None):
        self.file = file
        self.findings: list[Finding] = []
        self.seen: dict[str, str] = {}

    def add(self, code: str, node: str | None = None, /, **params) -> None:
        self.findings.append(make(code, file=self.file, node=node, **params))

    def mapping(self, value, what: str, node: str | None) -> dict | None:
        if not isinstance(value, dict):
            self.add("rubric.not_mapping", node, what=what, got=type(value).__name__)
            return None
        return value

    def keys(self, data: dict, allowed: set, required, what: str, node: str | None) -> None:
        for key in data:
            if key not in allowed:
                self.add("rubric.unknown_key", node, key=key, what=what, allowed=", ".join(sorted(allowed)))
        for key in required:
            if key not in data or data[key] in (None, "", []):
                self.add("rubric.missing_key", node, key=key, what=what)

    def number(self, data: dict, key: str, what: str, node: str | None) -> Decimal | None:
        value = data.get(key)
        try:
            if value is None or isinstance(value, bool):
                raise TypeError
            result = to_decimal(value)
            if not result.is_finite():
                raise TypeError
            return result
        except (TypeError, ArithmeticError, ValueError):
            self.add("rubric.bad_value", node, key=key, what=what, got=repr(value), expected="cần một số, ví dụ 2.5")
            return None

    def boolean(self, data: dict, key: str, default: bool, what: str, node: str | None) -> bool:
        value = data.get(key, default)
        if not isinstance(value, bool):
            self.add("rubric.bad_value", node, key=key, what=what, got=repr(value), expected="chỉ dùng true hoặc false")
            return default
        return value

    # ---- the whole file -------------------------------------------------------------------

    def rubric(self, data, source: str) -> Rubric | None:
        data = self.mapping(data, "tệp bộ tiêu chí", None)
        if data is None:
            return None
        self.keys(data, RUBRIC_KEYS, REQUIRED_RUBRIC_KEYS, "tệp bộ tiêu chí", None)
        legal = self.legal_basis(data.get("legal_basis"))
        total = self.number(data, "total", "tệp bộ tiêu chí", None) if "total" in data else None
        na_policy = str(data.get("na_policy", "rescale"))
        if na_policy not in NA_POLICIES:
            self.add("rubric.bad_value", None, key="na_policy", what="tệp bộ tiêu chí", got=na_policy,
                     expected="chỉ dùng rescale (quy đổi về thang 100) hoặc full_marks (tính đủ điểm)")
        default_evidence = self.boolean(data, "evidence_required", True, "tệp bộ tiêu chí", None)
        bands, assumed, note = self.groups(data.get("groups"), total)

        tree = data.get("tree")
        roots: list[Node] = []
        if not isinstance(tree, list) or not tree:
            self.add("rubric.empty_tree")
        else:
            for index, item in enumerate(tree):
                built = self.node(item, parent=None, depth=0, path=f"tree[{index + 1}]", default_evidence=default_evidence)
                if built is not None:
                    roots.append(built)
        if total is not None and roots and len(roots) == len(tree):
            top = sum((r.max for r in roots), ZERO)
            if top != total:
                self.add("rubric.total_sum", None, total=_fmt(total), sum=_fmt(top))
        bonus = self.extra(data.get(BONUS), BONUS, default_evidence, bands) if BONUS in data else None
        penalty = self.extra(data.get(PENALTY), PENALTY, default_evidence, bands) if PENALTY in data else None
        ranking_groups = self.ranking_groups(data.get("ranking_groups")) if "ranking_groups" in data else ()
        index_as_percent = self.boolean(data, "index_as_percent", False, "tệp bộ tiêu chí", None)
        if legal is None or total is None or not roots:
            return None

        rubric = Rubric(
            id=nfc(data.get("id", "")),
            title=nfc(data.get("title", "")),
            version=nfc(data.get("version", "1")),
            unit_level=nfc(data.get("unit_level", "cấp xã")),
            legal_basis=legal,
            total=total,
            na_policy=na_policy,
            na_policy_note=nfc(data.get("na_policy_note", "")),
            bands=bands,
            bands_assumed=assumed,
            bands_note=note,
            roots=tuple(roots),
            source=source,
            bonus=bonus,
            penalty=penalty,
            ranking_groups=ranking_groups,
            index_as_percent=index_as_percent,
        )
        index = {n.code: n for n in rubric.nodes()}
        rubric._index.update(index)
        object.__setattr__(rubric, "content_hash", rubric_hash(rubric))
        return rubric

    def legal_basis(self, value) -> LegalBasis | None:
        data = self.mapping(value, "legal_basis (căn cứ pháp lý)", None)
        if data is None:
            return None
        self.keys(data, LEGAL_KEYS, REQUIRED_LEGAL_KEYS, "legal_basis (căn cứ pháp lý)", None)
        return LegalBasis(**{k: nfc(data.get(k, "")) for k in LEGAL_KEYS})

    def groups(self, value, total: Decimal | None) -> tuple[tuple[Band, ...], bool, str]:
        data = self.mapping(value, "groups (xếp loại)", None)
        if data is None:
            return (), False, ""
        self.keys(data, GROUPS_KEYS, ("bands",), "groups (xếp loại)", None)
        bands = []
        raw_bands = data.get("bands")
        if not isinstance(raw_bands, list) or not raw_bands:
            if raw_bands not in (None, ""):
                self.add("rubric.bad_value", None, key="bands", what="groups (xếp loại)", got=repr(raw_bands),
                         expected="cần danh sách các mức {name, min}, ví dụ Xuất sắc ≥ 90")
            raw_bands = []
        for index, item in enumerate(raw_bands):
            what = f"groups.bands[{index + 1}]"
            item = self.mapping(item, what, None)
            if item is None:
                continue
            self.keys(item, BAND_KEYS, ("name", "min"), what, None)
            minimum = self.number(item, "min", what, None)
            share = None
            if item.get("max_share") is not None:
                share = self.number(item, "max_share", what, None)
                if share is not None and not ZERO < share <= 1:
                    self.add("rubric.bad_share", None, name=nfc(item.get("name") or what), got=_fmt(share))
                    share = None
            if minimum is not None and item.get("name"):
                bands.append(Band(nfc(item["name"]), minimum, share))
        mins = [b.min for b in bands]
        if bands and (any(a <= b for a, b in zip(mins, mins[1:])) or mins[-1] != 0):
            self.add("rubric.thresholds_order", None, got=", ".join(f"{b.name} ≥ {_fmt(b.min)}" for b in bands))
        if total is not None:
            for band in bands:
                if band.min > total:
                    self.add("rubric.threshold_above_total", None, name=band.name, min=_fmt(band.min), total=_fmt(total))
        if bands and len(bands) == len(raw_bands) and bands[-1].max_share is not None:
            self.add("rubric.share_on_last_band", None, name=bands[-1].name)
        assumed = self.boolean(data, "assumed", False, "groups (xếp loại)", None)
        return tuple(bands), assumed, nfc(data.get("note", ""))

    # ---- bonus, penalty, ranking groups -----------------------------------------------------

    def extra(self, value, part: str, default_evidence: bool, bands: tuple[Band, ...]) -> Extra | None:
        """The `bonus` or `penalty` mapping: its cap and its items, each a leaf like the tree's."""
        what = f"{part} ({PART_LABELS[part]})"
        data = self.mapping(value, what, part)
        if data is None:
            return None
        self.keys(data, EXTRA_KEYS, ("max", "items"), what, part)
        maximum = self.number(data, "max", what, part) if "max" in data else None
        if maximum is not None and maximum <= 0:
            self.add("rubric.nonpositive_max", part, code=part, max=_fmt(maximum))
        raw_items = data.get("items")
        if not isinstance(raw_items, list):
            if raw_items not in (None, ""):
                self.add("rubric.bad_value", part, key="items", what=what, got=type(raw_items).__name__,
                         expected="cần danh sách các mục {code, label, max}")
            raw_items = []
        allowed = PENALTY_ITEM_KEYS if part == PENALTY else ITEM_KEYS
        items = []
        for index, item in enumerate(raw_items):
            where = f"{part}.items[{index + 1}]"
            mapping = self.mapping(item, f"mục {where}", where)
            if mapping is None:
                continue
            code = nfc(mapping.get("code") or "")
            label = f"{where} ({code})" if code else where
            for key in mapping:
                if key not in allowed:
                    self.add("rubric.unknown_key", label, key=key, what=f"mục {label}", allowed=", ".join(sorted(allowed)))
            node = self.node({k: v for k, v in mapping.items() if k in allowed and k != "sanction"},
                             parent=None, depth=0, path=where, default_evidence=default_evidence)
            if node is None:
                continue
            sanction, sanction_band = self.sanction(mapping.get("sanction"), label, bands) if part == PENALTY else ("", "")
            items.append(replace(node, part=part, sanction=sanction, sanction_band=sanction_band))
        if maximum is None:
            return None
        return Extra(part, maximum, tuple(items))

    def sanction(self, value, where: str, bands: tuple[Band, ...]) -> tuple[str, str]:
        """`no_top_band`, `drop_one_band` or `{max_band: "Tốt"}`; ("", "") when absent or wrong."""
        if value is None or value == "":
            return "", ""
        if isinstance(value, str) and value.strip().startswith("max_band:"):  # written inline as text
            value = {"max_band": value.split(":", 1)[1].strip().strip('"')}
        if isinstance(value, dict) and set(value) == {"max_band"}:
            name = nfc(value["max_band"] or "")
            if name not in {b.name for b in bands}:
                self.add("rubric.unknown_band", where, name=name or "(trống)",
                         bands=", ".join(b.name for b in bands) or "(chưa có)")
                return "", ""
            return "max_band", name
        if isinstance(value, str) and nfc(value) in ("no_top_band", "drop_one_band"):
            return nfc(value), ""
        shown = value if isinstance(value, str) else repr(value)
        self.add("rubric.unknown_sanction", where, got=shown)
        return "", ""

    def ranking_groups(self, value) -> tuple[tuple[str, ...], ...]:
        """`[[phường], [xã, đặc khu]]`: every kind known, none in two groups."""
        expected = "cần danh sách các nhóm loại đơn vị, ví dụ [[phường], [xã, đặc khu]]"
        if not isinstance(value, list) or not value:
            self.add("rubric.bad_value", None, key="ranking_groups", what="tệp bộ tiêu chí", got=repr(value),
                     expected=expected)
            return ()
        groups, seen, ok = [], set(), True
        for entry in value:
            if isinstance(entry, str):
                entry = [entry]
            if not isinstance(entry, list) or not entry:
                self.add("rubric.bad_value", None, key="ranking_groups", what="tệp bộ tiêu chí", got=repr(entry),
                         expected=expected)
                ok = False
                continue
            kinds = []
            for raw in entry:
                kind = nfc(raw)
                if kind not in UNIT_KINDS:
                    self.add("rubric.bad_ranking_kind", "ranking_groups", kind=kind)
                    ok = False
                elif kind in seen:
                    self.add("rubric.ranking_kind_twice", "ranking_groups", kind=kind)
                    ok = False
                else:
                    seen.add(kind)
                    kinds.append(kind)
            groups.append(tuple(kinds))
        return tuple(groups) if ok else ()

    # ---- one node ---------------------------------------------------------------------------

    def node(self, value, parent: str | None, depth: int, path: str, default_evidence: bool) -> Node | None:
        data = self.mapping(value, f"nút {path}", path)
        if data is None:
            return None
        raw_code = data.get("code")
        code = "" if raw_code is None else nfc(raw_code)
        where = f"{path} ({code})" if code else path
        self.keys(data, NODE_KEYS, ("code", "max"), f"tiêu chí {where}", where)
        if code and not _CODE.match(code):
            self.add("rubric.bad_code", where, code=code)
        if code:
            if code in self.seen:
                self.add("rubric.duplicate_code", where, code=code, first=self.seen[code])
            else:
                self.seen[code] = where
        label = nfc(data.get("label") or "")
        if not label:
            self.add("rubric.missing_label", where, code=code or path)
        maximum = self.number(data, "max", f"tiêu chí {where}", where) if "max" in data else None
        if maximum is not None and maximum <= 0:
            self.add("rubric.nonpositive_max", where, code=code or path, max=_fmt(maximum))

        children_data = data.get("children") or []
        if not isinstance(children_data, list):
            self.add("rubric.bad_value", where, key="children", what=f"tiêu chí {where}", got=type(children_data).__name__,
                     expected="cần một danh sách các tiêu chí con")
            children_data = []
        children = []
        for index, item in enumerate(children_data):
            child = self.node(item, code, depth + 1, f"{where} › [{index + 1}]", default_evidence)
            if child is not None:
                children.append(child)

        if children_data:
            for key in LEAF_ONLY_KEYS:
                if key in data:
                    self.add("rubric.parent_scoring", where, code=code, key=key)
            if maximum is not None and len(children) == len(children_data):
                total = sum((c.max for c in children), ZERO)
                if total != maximum:
                    self.add("rubric.parent_sum", where, code=code, max=_fmt(maximum), sum=_fmt(total))
            if maximum is None or not code:
                return None
            return Node(code=code, label=label, max=maximum, children=tuple(children), parent=parent, depth=depth)

        if maximum is None or not code:
            return None
        levels = self.levels(data.get("levels"), code, maximum, where)
        step = self.number(data, "step", f"tiêu chí {where}", where) if data.get("step") is not None else None
        if step is not None and (step <= 0 or (maximum > 0 and maximum % step != 0)):
            self.add("rubric.step_invalid", where, code=code, step=_fmt(step), max=_fmt(maximum))
        if levels and step is not None:
            self.add("rubric.levels_and_step", where, code=code)
        applies_to = data.get("applies_to") or []
        if isinstance(applies_to, str):
            applies_to = [applies_to]
        if not isinstance(applies_to, list):
            self.add("rubric.bad_value", where, key="applies_to", what=f"tiêu chí {where}", got=repr(applies_to),
                     expected="cần danh sách loại đơn vị, ví dụ [xã] hoặc [phường, thị trấn]")
            applies_to = []
        kinds = tuple(nfc(k) for k in applies_to)
        for kind in kinds:
            if kind not in UNIT_KINDS:
                self.add("rubric.bad_kind", where, code=code, kind=kind)
        what = f"tiêu chí {where}"
        return Node(
            code=code,
            label=label,
            max=maximum,
            parent=parent,
            depth=depth,
            method=nfc(data.get("method") or ""),
            levels=levels,
            step=step,
            self_scored=self.boolean(data, "self_scored", True, what, where),
            applies_to=kinds,
            may_be_na=self.boolean(data, "may_be_na", False, what, where),
            evidence_required=self.boolean(data, "evidence_required", default_evidence, what, where),
            evidence_window=self.window(data.get("evidence_window"), where),
        )

    def window(self, value, where: str) -> tuple[str, str] | None:
        """`evidence_window: {from: "{year-1}-10-01", to: "{year-1}-12-31"}`, checked on a sample year."""
        if value is None:
            return None
        expected = 'cần {from: "{year-1}-10-01", to: "{year-1}-12-31"} (năm viết số hoặc {year}, {year-1}, {year+1})'
        if not isinstance(value, dict) or set(value) != {"from", "to"}:
            self.add("rubric.bad_value", where, key="evidence_window", what=f"tiêu chí {where}", got=repr(value), expected=expected)
            return None
        bounds = (nfc(value["from"]), nfc(value["to"]))
        try:
            start, end = (window_bound(b, 2023) for b in bounds)
        except ValueError:
            self.add("rubric.bad_value", where, key="evidence_window", what=f"tiêu chí {where}", got=repr(value), expected=expected)
            return None
        if start > end:
            self.add("rubric.bad_value", where, key="evidence_window", what=f"tiêu chí {where}", got=repr(value),
                     expected="ngày bắt đầu (from) phải trước ngày kết thúc (to)")
            return None
        return bounds

    def levels(self, value, code: str, maximum: Decimal, where: str) -> tuple[Level, ...]:
        if value is None:
            return ()
        if not isinstance(value, list):
            self.add("rubric.bad_value", where, key="levels", what=f"tiêu chí {where}", got=type(value).__name__,
                     expected="cần danh sách các mức {points, text}")
            return ()
        levels = []
        seen = set()
        for index, item in enumerate(value):
            what = f"mức điểm thứ {index + 1} của {where}"
            if not isinstance(item, dict):  # a bare number is a level without a description
                item = {"points": item}
            self.keys(item, LEVEL_KEYS, ("points",), what, where)
            points = self.number(item, "points", what, where)
            if points is None:
                continue
            if points > maximum:
                self.add("rubric.level_above_max", where, code=code, points=_fmt(points), max=_fmt(maximum))
            if points < 0:
                self.add("rubric.level_negative", where, code=code, points=_fmt(points))
            if points in seen:
                self.add("rubric.level_duplicate", where, code=code, points=_fmt(points))
            seen.add(points)
            levels.append(Level(normalize(points), nfc(item.get("text") or "")))
        return tuple(sorted(levels, key=lambda lv: lv.points))


_WINDOW_BOUND = re.compile(r"^(?:(\d{4})|\{year(?:([+-])(\d))?\})-(\d{2})-(\d{2})$")


def window_bound(text: str, year: int) -> date:
    """One bound of an evidence window for the period's year: "{year-1}-10-01" -> 2022-10-01 for 2023."""
    match = _WINDOW_BOUND.match(str(text).strip())
    if not match:
        raise ValueError(text)
    literal, sign, offset, month, day = match.groups()
    if literal:
        wanted = int(literal)
    else:
        wanted = year + (int(offset) if sign == "+" else -int(offset) if sign else 0)
    if not literal and (month, day) == ("02", "29"):  # a template must hold in every year
        raise ValueError(text)
    return date(wanted, int(month), int(day))


def _fmt(value: Decimal) -> str:
    from cchc_xls.numbers import format_vn

    return format_vn(value)


def rubric_hash(rubric: Rubric) -> str:
    """A short hash of everything that affects scoring, so a file of an edited rubric is told apart."""
    payload = {
        "id": rubric.id,
        "total": str(normalize(rubric.total)),
        "na_policy": rubric.na_policy,
        "nodes": [
            [n.code, n.label, str(normalize(n.max)), n.parent, n.self_scored, [str(lv.points) for lv in n.levels],
             str(normalize(n.step)) if n.step else "", list(n.applies_to), n.may_be_na]
            for n in rubric.nodes() if not n.part
        ],
    }
    # Only rubrics with bonus or penalty points carry these keys, so the hash of every earlier
    # rubric (and so the identity of every template already sent) stays the same.
    for extra in rubric.extras():
        payload[extra.part] = [str(normalize(extra.max))] + [
            [n.code, n.label, str(normalize(n.max)), [str(lv.points) for lv in n.levels],
             str(normalize(n.step)) if n.step else ""]
            for n in extra.items
        ]
    blob = json.dumps(payload, ensure_ascii=False, sort_keys=True).encode("utf-8")
    return hashlib.sha256(blob).hexdigest()[:16]


def rubric_nodes_json(rubric: Rubric) -> list[dict]:
    """The tree as `cchc rubric show --json` prints it: one dict per node, in rubric order."""
    from cchc_xls.numbers import to_json_number

    return [
        {"code": n.code, "label": n.label, "max": to_json_number(n.max), "parent": n.parent,
         "self_scored": n.self_scored if n.is_leaf else any(leaf.self_scored for leaf in n.leaves()),
         **({"part": n.part} if n.part else {})}  # only bonus and penalty items: earlier output unchanged
        for n in rubric.nodes()
    ]
