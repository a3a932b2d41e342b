"""Vietnamese text typed in the legacy TCVN3 (ABC, .VnTime fonts) or VNI (VNI-Times fonts)
encodings, converted to Unicode.

Such text reaches a workbook as Latin-1 letters and symbols ("KÕ ho¹ch sè" for TCVN3, "Keá
hoaïch soá" for VNI). It is converted only when it is unmistakable: characters that Vietnamese
Unicode text never contains, and no Vietnamese-only Unicode letter in the same text.
"""

from __future__ import annotations

import re
import unicodedata

# TCVN 5712 (VN3 and the upper-case positions of VN1), byte -> Unicode, for the bytes that
# .VnTime text shows as Latin-1 characters (0xA1-0xFF; 0xB0-0xB4 are combining marks, left out).
_TCVN3_BYTES = {
    0xA1: 0x0102, 0xA2: 0x00C2, 0xA3: 0x00CA, 0xA4: 0x00D4, 0xA5: 0x01A0, 0xA6: 0x01AF, 0xA7: 0x0110,
    0xA8: 0x0103, 0xA9: 0x00E2, 0xAA: 0x00EA, 0xAB: 0x00F4, 0xAC: 0x01A1, 0xAD: 0x01B0, 0xAE: 0x0111,
    0xAF: 0x1EB0, 0xB5: 0x00E0, 0xB6: 0x1EA3, 0xB7: 0x00E3, 0xB8: 0x00E1, 0xB9: 0x1EA1, 0xBA: 0x1EB2,
    0xBB: 0x1EB1, 0xBC: 0x1EB3, 0xBD: 0x1EB5, 0xBE: 0x1EAF, 0xBF: 0x1EB4, 0xC0: 0x1EAE, 0xC1: 0x1EA6,
    0xC2: 0x1EA8, 0xC3: 0x1EAA, 0xC4: 0x1EA4, 0xC5: 0x1EC0, 0xC6: 0x1EB7, 0xC7: 0x1EA7, 0xC8: 0x1EA9,
    0xC9: 0x1EAB, 0xCA: 0x1EA5, 0xCB: 0x1EAD, 0xCC: 0x00E8, 0xCD: 0x1EC2, 0xCE: 0x1EBB, 0xCF: 0x1EBD,
    0xD0: 0x00E9, 0xD1: 0x1EB9, 0xD2: 0x1EC1, 0xD3: 0x1EC3, 0xD4: 0x1EC5, 0xD5: 0x1EBF, 0xD6: 0x1EC7,
    0xD7: 0x00EC, 0xD8: 0x1EC9, 0xD9: 0x1EC4, 0xDA: 0x1EBE, 0xDB: 0x1ED2, 0xDC: 0x0129, 0xDD: 0x00ED,
    0xDE: 0x1ECB, 0xDF: 0x00F2, 0xE0: 0x1ED4, 0xE1: 0x1ECF, 0xE2: 0x00F5, 0xE3: 0x00F3, 0xE4: 0x1ECD,
    0xE5: 0x1ED3, 0xE6: 0x1ED5, 0xE7: 0x1ED7, 0xE8: 0x1ED1, 0xE9: 0x1ED9, 0xEA: 0x1EDD, 0xEB: 0x1EDF,
    0xEC: 0x1EE1, 0xED: 0x1EDB, 0xEE: 0x1EE3, 0xEF: 0x00F9, 0xF0: 0x1ED6, 0xF1: 0x1EE7, 0xF2: 0x0169,
    0xF3: 0x00FA, 0xF4: 0x1EE5, 0xF5: 0x1EEB, 0xF6: 0x1EED, 0xF7: 0x1EEF, 0xF8: 0x1EE9, 0xF9: 0x1EF1,
    0xFA: 0x1EF3, 0xFB: 0x1EF7, 0xFC: 0x1EF9, 0xFD: 0x00FD, 0xFE: 0x1EF5, 0xFF: 0x1ED0,
}
_TCVN3 = {chr(byte): chr(code) for byte, code in _TCVN3_BYTES.items()}
# Symbols .VnTime text is full of and Vietnamese Unicode text never has.
_TCVN3_SIGNS = set("¡¢£¤¥¦§¨©ª«¬\xad®¯µ¶·¸¹º»¼½¾¿")

# VNI-Windows: a base letter followed by mark characters. Tone order: none, sắc, huyền, hỏi, ngã, nặng.
_TONES = ("", "\u0301", "\u0300", "\u0309", "\u0303", "\u0323")
_VNI_VOWELS = {  # Unicode base letter -> VNI spellings in tone order
    "a": ("a", "aù", "aø", "aû", "aõ", "aï"),
    "â": ("aâ", "aá", "aà", "aå", "aã", "aä"),
    "ă": ("aê", "aé", "aè", "aú", "aü", "aë"),
    "e": ("e", "eù", "eø", "eû", "eõ", "eï"),
    "ê": ("eâ", "eá", "eà", "eå", "eã", "eä"),
    "o": ("o", "où", "oø", "oû", "oõ", "oï"),
    "ô": ("oâ", "oá", "oà", "oå", "oã", "oä"),
    "ơ": ("ô", "ôù", "ôø", "ôû", "ôõ", "ôï"),
    "u": ("u", "uù", "uø", "uû", "uõ", "uï"),
    "ư": ("ö", "öù", "öø", "öû", "öõ", "öï"),
    "i": ("i", "í", "ì", "æ", "ó", "ò"),
    "y": ("y", "yù", "yø", "yû", "yõ", "î"),
}


def _vni_table() -> dict[str, str]:
    table = {"ñ": "đ", "Ñ": "Đ"}
    for base, spellings in _VNI_VOWELS.items():
        for tone, spelling in zip(_TONES, spellings):
            if len(spelling) == 1 and spelling.isascii():
                continue
            target = unicodedata.normalize("NFC", base + tone)
            table[spelling] = target
            table[spelling.upper()] = target.upper()
    return table


_VNI = _vni_table()
_VNI_RE = re.compile("|".join(sorted(map(re.escape, _VNI), key=len, reverse=True)))
# Characters VNI text uses that Vietnamese Unicode text never has.
_VNI_SIGNS = set("ñÑöÖøØïÏæÆåÅëËüÜûÛîÎäÄ")
# Letters that exist only in Vietnamese Unicode: their presence means the text is Unicode already.
_UNICODE_ONLY = re.compile("[\u0102\u0103\u0110\u0111\u0128\u0129\u0168\u0169\u01a0\u01a1\u01af\u01b0\u1ea0-\u1ef9]")


def detect_legacy(text: str) -> str | None:
    """"TCVN3", "VNI" or None."""
    if not text or text.isascii() or _UNICODE_ONLY.search(text):
        return None
    if sum(1 for c in text if c in _TCVN3_SIGNS) >= 2:
        return "TCVN3"
    if sum(1 for c in text if c in _VNI_SIGNS) >= 2:
        return "VNI"
    return None


def fix_legacy_text(text: str) -> tuple[str, str | None]:
    """(text, None) when the text is Unicode already; else (converted text, encoding name)."""
    encoding = detect_legacy(text)
    if encoding == "TCVN3":
        return "".join(_TCVN3.get(c, c) for c in text), "TCVN3 (ABC)"
    if encoding == "VNI":
        return _VNI_RE.sub(lambda m: _VNI[m.group(0)], text), "VNI"
    return text, None
