"""The office as data: who runs the assessment, who issues the ranking, who signs, and where.

One `OfficeProfile` serves every document the tool writes (the template's instructions and
messages, Phụ lục II, the appraisal workbooks, the reports), so a header, an issuing line or a
signature can never say "huyện" in one document and "tỉnh" in another. It comes from a YAML file
(`--profile FILE`) and options with the same names (options win); the harvest keeps it in
harvest.json (key `profile`) so later commands reuse it.

Everything a document prints is derived here, in the national document format (Nghị định
30/2020/NĐ-CP): "UBND TỈNH THÁI NGUYÊN / SỞ NỘI VỤ", "Số: …/BC-SNV", "GIÁM ĐỐC". A value that
cannot be known is a dotted blank, never a guess that could be wrong.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass, fields, replace
from datetime import date
from pathlib import Path

import yaml

from cchc_xls.errors import CchcError
from cchc_xls.findings import Finding, make
from cchc_xls.outputs import safe_text

PROFILE_KEYS = ("issuer", "office", "signer_title", "signer_name", "place")
BLANK = "……"  # a name the tool does not know: the office writes it in by hand
NAME_BLANK = "……………………"
DATE_FORMAT = "DD/MM/YYYY"

# Administrative levels a name can carry, longest first ("thành phố" before "phố"…).
_LOCALITY = re.compile(r"(?:^|\s+)(tỉnh|thành phố|TP\.?|huyện|quận|thị xã|xã|phường|đặc khu|thị trấn)\s+(.+)$", re.IGNORECASE)
_COMMITTEE = re.compile(r"^(ủy ban nhân dân|uỷ ban nhân dân|ubnd)\s+", re.IGNORECASE)
_PROVINCE_WORDS = ("tỉnh",)
_DISTRICT_WORDS = ("huyện", "quận", "thị xã")


def _nfc(text) -> str:
    """One line of NFC text that every output can hold (a hand-edited profile is text like any)."""
    return safe_text(unicodedata.normalize("NFC", " ".join(str(text or "").split())), one_line=True)


def upper_vn(text: str) -> str:
    """Upper case as headers write it, keeping the abbreviation "UBND" as is."""
    return _nfc(text).upper()


def _initials(name: str) -> str:
    """"Sở Nội vụ" -> "SNV": the initials of the office's own name, as document numbers carry them."""
    letters = []
    for word in name.split():
        first = unicodedata.normalize("NFD", word)[0]
        letters.append("D" if first in "đĐ" else first.upper())
    return "".join(c for c in letters if c.isascii() and c.isalpha())


def split_locality(name: str) -> tuple[str, str, str]:
    """"Sở Nội vụ tỉnh Thái Nguyên" -> ("Sở Nội vụ", "tỉnh", "Thái Nguyên"); a name without a
    locality gives (name, "", "")."""
    name = _nfc(name)
    match = _LOCALITY.search(name)
    if not match:
        return name, "", ""
    level = match.group(1).lower()
    if level.startswith("tp"):
        level = "thành phố"
    return name[:match.start()].strip(), level, match.group(2)


@dataclass(frozen=True)
class OfficeProfile:
    """The five keys of a profile (blank = not given) and the date the documents carry."""

    issuer: str = ""  # the People's Committee that issues the ranking decision: "UBND tỉnh Thái Nguyên"
    office: str = ""  # the office that runs the assessment: "Sở Nội vụ tỉnh Thái Nguyên"
    signer_title: str = ""  # "Giám đốc"
    signer_name: str = ""
    place: str = ""  # for "Thái Nguyên, ngày … tháng … năm …"
    date: date | None = None  # the documents' date; None: left for the office to write in

    def keys(self) -> dict[str, str]:
        """The five keys as given (what harvest.json keeps)."""
        return {key: getattr(self, key) for key in PROFILE_KEYS}

    def merged(self, other: "OfficeProfile") -> "OfficeProfile":
        """This profile with every key `other` gives (options over the file, given over stored)."""
        changes = {f.name: getattr(other, f.name) for f in fields(other) if getattr(other, f.name)}
        return replace(self, **changes)

    # --- the level of the office ------------------------------------------------------------
    @property
    def level(self) -> str:
        """"province", "district" or "" when neither name tells."""
        short, locality, _ = split_locality(self.office)
        first = short.split()[0].lower() if short else ""
        if first == "sở":
            return "province"
        if first == "phòng":
            return "district"
        for name in (self.office, self.issuer):
            _, locality, _ = split_locality(name)
            if locality in _PROVINCE_WORDS:
                return "province"
            if locality in _DISTRICT_WORDS:
                return "district"
        return ""

    def _locality(self) -> tuple[str, str]:
        """(level word, place name) from the issuer, else the office: ("tỉnh", "Thái Nguyên")."""
        for name in (_COMMITTEE.sub("", _nfc(self.issuer)), self.office):
            if not name:
                continue
            short, level, place = split_locality(name)
            if level:
                return level, place
            if name is not self.office and short:  # "UBND Thái Nguyên": a place without its level
                return "", short
        return "", ""

    # --- names as documents print them --------------------------------------------------------
    @property
    def issuer_name(self) -> str:
        """The issuing committee as the issuing line writes it: "UBND tỉnh Thái Nguyên"."""
        if self.issuer:
            return _COMMITTEE.sub("UBND ", _nfc(self.issuer))
        level, place = self._locality()
        if level and place:
            return f"UBND {level} {place}"
        return f"UBND {BLANK}"

    @property
    def office_name(self) -> str:
        """The office in running text ("gửi cho Sở Nội vụ tỉnh Thái Nguyên"); from the level when
        not given."""
        if self.office:
            return _nfc(self.office)
        level, place = self._locality()
        kind = {"province": "Sở Nội vụ", "district": "Phòng Nội vụ"}.get(self.level)
        if kind and level and place:
            return f"{kind} {level} {place}"
        return kind or "cơ quan Nội vụ"

    @property
    def office_short(self) -> str:
        """The office's own name without its locality, for the second header line: "Sở Nội vụ"."""
        if self.office:
            return split_locality(self.office)[0]
        return {"province": "Sở Nội vụ", "district": "Phòng Nội vụ"}.get(self.level, "")

    def header_lines(self) -> tuple[str, str]:
        """The two lines at the top left of the office's documents: "UBND TỈNH THÁI NGUYÊN", "SỞ NỘI VỤ"."""
        return upper_vn(self.issuer_name), upper_vn(self.office_short) if self.office_short else BLANK

    @property
    def abbreviation(self) -> str:
        """The office's initials in document numbers: "SNV", "PNV"."""
        return _initials(self.office_short) if self.office_short else BLANK

    def number_line(self, kind: str = "BC") -> str:
        """"Số: …/BC-SNV" for a report of the office."""
        return f"Số: {BLANK}/{kind}-{self.abbreviation}"

    @property
    def title(self) -> str:
        """Who signs for the office: given, else from the office (Sở -> Giám đốc, Phòng -> Trưởng phòng)."""
        if self.signer_title:
            return _nfc(self.signer_title)
        return {"province": "Giám đốc", "district": "Trưởng phòng"}.get(self.level, "Thủ trưởng cơ quan")

    @property
    def name_line(self) -> str:
        """The signer's name under the signature, dotted when not known."""
        return _nfc(self.signer_name) or NAME_BLANK

    @property
    def place_name(self) -> str:
        """The place of the date line: given, else the locality's name."""
        return _nfc(self.place) or self._locality()[1] or BLANK

    # --- dates ---------------------------------------------------------------------------------
    def date_line(self, year: int | str | None, place: str | None = None) -> str:
        """"Thái Nguyên, ngày 15 tháng 01 năm 2026", blanks where the date is not set."""
        where = place if place is not None else self.place_name
        if self.date:
            return f"{where}, ngày {self.date.day:02d} tháng {self.date.month:02d} năm {self.date.year}"
        return f"{where}, ngày {BLANK} tháng {BLANK} năm {year or BLANK}"

    def short_date(self, year: int | str | None) -> str:
        """"15/01/2026", or "……/……/2026"."""
        if self.date:
            return self.date.strftime("%d/%m/%Y")
        return f"{BLANK}/{BLANK}/{year or BLANK}"

    def issuing_line(self, year: int | str | None) -> str:
        """Phụ lục II's line under its title."""
        return (f"(Ban hành kèm theo Quyết định số {BLANK}/QĐ-UBND ngày {self.short_date(year)} "
                f"của Chủ tịch {self.issuer_name})")

    def issue_year(self, period) -> int | str:
        """The year documents about `period` are issued in: a year's ranking the next January, a
        half-year's in the same year; the set date's year when one is set."""
        if self.date:
            return self.date.year
        if period is None:
            return BLANK
        return period.year if getattr(period, "half", None) == 1 else period.year + 1


def parse_date(text: str | None) -> date | None:
    """"15/01/2026" -> date; blank -> None; anything else a CchcError saying the form."""
    if not text or not str(text).strip():
        return None
    match = re.fullmatch(r"\s*(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})\s*", str(text))
    try:
        if not match:
            raise ValueError
        return date(int(match.group(3)), int(match.group(2)), int(match.group(1)))
    except ValueError:
        raise CchcError.of("profile.bad_date", got=text, form=DATE_FORMAT) from None


def check_profile_data(data, source: str) -> tuple[dict[str, str], list[Finding]]:
    """The keys of a profile mapping and every problem in it (unknown keys, values that are not
    text), all at once."""
    findings: list[Finding] = []
    if data is None:
        return {}, findings
    if not isinstance(data, dict):
        return {}, [make("profile.not_mapping", file=source, got=type(data).__name__)]
    keys = {}
    for key, value in data.items():
        if key not in PROFILE_KEYS:
            findings.append(make("profile.unknown_key", file=source, key=key, allowed=", ".join(PROFILE_KEYS)))
        elif value is not None and not isinstance(value, (str, int, float)):
            findings.append(make("profile.bad_value", file=source, key=key, got=type(value).__name__))
        else:
            keys[key] = _nfc("" if value is None else value)
    return keys, findings


def load_profile(path: Path | str | None = None, **options) -> OfficeProfile:
    """The profile from FILE (YAML) with `options` (the same keys, and `date`) over it.

    Every problem in the file is reported at once, each naming the key; a CchcError carries them."""
    keys: dict[str, str] = {}
    if path:
        path = Path(path)
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            raise CchcError.of("profile.unreadable", path=str(path), reason=str(exc).splitlines()[0]) from exc
        keys, findings = check_profile_data(data, path.name)
        if findings:
            lines = "\n".join(str(f) for f in findings)
            raise CchcError.of("profile.invalid", findings=tuple(findings), path=str(path), count=len(findings),
                               lines=lines)
    given = {k: _nfc(v) for k, v in options.items() if k in PROFILE_KEYS and v}
    when = options.get("date")
    profile = OfficeProfile(**{**keys, **given})
    if when:
        profile = replace(profile, date=when if isinstance(when, date) else parse_date(when))
    return profile


def profile_from_json(data) -> OfficeProfile:
    """The profile a harvest kept (harvest.json key `profile`); unknown keys are ignored there."""
    if not isinstance(data, dict):
        return OfficeProfile()
    return OfficeProfile(**{k: _nfc(v) for k, v in data.items() if k in PROFILE_KEYS and isinstance(v, str)})


def legacy_office(text: str) -> OfficeProfile:
    """`--office` as `cchc rank` and `cchc report` read it before profiles: the issuing UBND.

    A name that starts with UBND / Ủy ban nhân dân is taken as the issuer; any other is the office."""
    text = _nfc(text)
    if not text:
        return OfficeProfile()
    if _COMMITTEE.match(text):
        return OfficeProfile(issuer=text)
    return OfficeProfile(office=text)


def profile_json(profile: OfficeProfile) -> dict[str, str]:
    """What harvest.json keeps: the five keys as given (the date is a document's, not the office's)."""
    return {k: v for k, v in asdict(profile).items() if k in PROFILE_KEYS}
