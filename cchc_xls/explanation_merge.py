"""The explanation round, merging: the communes' explanations and the council's round-2 scores
into each unit's appraisal, and each disputed criterion's history for harvest.json.

Only a disputed criterion (the round-1 score below the self score, or a round-1 comment) takes
an explanation or a round-2 score; anything else is a finding on its cell, never merged. The
appraised score of a criterion is round 2's where the council gave one, else round 1's.
"""

from __future__ import annotations

from decimal import Decimal

from cchc_xls.appraisal_merge import UnitAppraisal, judge_entry
from cchc_xls.explanation_read import Reply
from cchc_xls.findings import make
from cchc_xls.numbers import format_vn, to_json_number
from cchc_xls.rubric import Rubric


def is_disputed(score: Decimal | None, round1: Decimal | None, comment: str) -> bool:
    """The one rule: the council cut points (round 1 below the self score) or asked something."""
    return bool(comment) or (score is not None and round1 is not None and round1 < score)


def merge_later_rounds(sources: list, merged: dict[str, UnitAppraisal], self_scores: dict[str, dict],
                       rubric: Rubric, units: dict) -> None:
    """Merge explanations and round-2 entries (`sources`: (file result, entries), oldest file
    first) into `merged`; findings go onto the file they come from."""
    round1 = {code: (dict(a.scores), dict(a.comments)) for code, a in merged.items()}
    seen: dict[tuple[str, str], tuple] = {}
    for file_result, entries in sources:
        merged_here = 0
        for entry in entries:
            where = {"file": entry.file, "sheet": entry.sheet, "cell": entry.cell, "node": entry.code}
            what = "giải trình" if isinstance(entry, Reply) else "điểm thẩm định lần 2"
            if entry.unit not in units:
                file_result.findings.append(make("appraisal.unknown_unit", **where, unit=entry.unit, code=entry.code))
                continue
            scores, comments = round1.get(entry.unit, ({}, {}))
            if not is_disputed(self_scores.get(entry.unit, {}).get(entry.code), scores.get(entry.code),
                               comments.get(entry.code, "")):
                file_result.findings.append(make("explanation.not_disputed", **where, unit=entry.unit,
                                                 code=entry.code, what=what))
                continue
            appraisal = merged[entry.unit]
            if isinstance(entry, Reply):
                earlier = appraisal.explanations.get(entry.code)
                if earlier is not None and (earlier.text, earlier.evidence) != (entry.text, entry.evidence):
                    seen[(entry.unit, entry.code, "reply")][0].findings.append(make(
                        "explanation.replaced", file=earlier.file, sheet=earlier.sheet, cell=earlier.cell,
                        node=entry.code, unit=entry.unit, code=entry.code, newer=entry.file))
                appraisal.explanations[entry.code] = entry
                seen[(entry.unit, entry.code, "reply")] = (file_result, entry)
                merged_here += 1
                continue
            if entry.value is not None:
                problem = judge_entry(rubric.node(entry.code), entry)
                if problem is not None:
                    file_result.findings.append(problem)
                    continue
                earlier = seen.get((entry.unit, entry.code, "round2"))
                if earlier is not None and earlier[1].value != entry.value:
                    for owner, side, other in ((file_result, entry, earlier[1]), (earlier[0], earlier[1], entry)):
                        owner.findings.append(make(
                            "appraisal.conflict", file=side.file, sheet=side.sheet, cell=side.cell, node=side.code,
                            unit=side.unit, code=side.code, value=format_vn(side.value),
                            other=format_vn(other.value), other_file=other.file, other_cell=other.cell))
                    appraisal.round2_conflicts.add(entry.code)
                    continue
                seen[(entry.unit, entry.code, "round2")] = (file_result, entry)
            appraisal.round2[entry.code] = entry
            merged_here += 1
        if entries:
            code = "explanation.merged" if isinstance(entries[0], Reply) else "round2.merged"
            file_result.findings.append(make(code, file=file_result.path, count=merged_here))
    for appraisal in merged.values():
        appraisal.round1 = {}
        for code, entry in appraisal.round2.items():
            if entry.value is not None and code not in appraisal.round2_conflicts:
                appraisal.round1[code] = appraisal.scores.get(code)
                appraisal.scores[code] = entry.value


def history_json(appraisal: UnitAppraisal | None, self_scores: dict, self_file: str | None) -> dict:
    """Per disputed criterion (and any with an explanation or a round-2 entry): its self score,
    round-1 score and comment, explanation and supplementary evidence, round-2 score and comment,
    each with the file (and cell) it came from. harvest.json's `history` key."""
    if appraisal is None:
        return {}
    result = {}
    codes = [c for c in sorted(set(appraisal.scores) | set(appraisal.comments) | set(appraisal.explanations)
                               | set(appraisal.round2))]
    for code in codes:
        first = appraisal.round1[code] if code in appraisal.round1 else appraisal.scores.get(code)
        comment = appraisal.comments.get(code, "")
        reply, second = appraisal.explanations.get(code), appraisal.round2.get(code)
        if not (reply or second or is_disputed(self_scores.get(code), first, comment)):
            continue
        source = appraisal.sources.get(code, ("", ""))
        step = {"self": {"score": to_json_number(self_scores.get(code)), "file": self_file},
                "round1": {"score": to_json_number(first), "comment": comment, "file": source[0], "cell": source[1]}}
        if reply:
            step["explanation"] = {"text": reply.text, "evidence": reply.evidence, "file": reply.file,
                                   "cell": reply.cell}
        if second:
            step["round2"] = {"score": to_json_number(second.value), "comment": second.comment, "file": second.file,
                              "cell": second.cell}
        result[code] = step
    return result
