"""Appraisal, merging: every returned appraisal and survey file's entries into one appraisal per
unit, refusing values off the rubric and conflicts between files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from cchc_xls.appraisal_read import Entry
from cchc_xls.findings import Finding, make
from cchc_xls.numbers import format_vn
from cchc_xls.rubric import Node, Rubric
from cchc_xls.units import Unit


@dataclass
class UnitAppraisal:
    scores: dict[str, Decimal] = field(default_factory=dict)  # appraised leaves, survey scores included
    comments: dict[str, str] = field(default_factory=dict)
    survey: dict[str, Decimal] = field(default_factory=dict)
    conflicts: set[str] = field(default_factory=set)
    sources: dict[str, tuple[str, str]] = field(default_factory=dict)  # code -> (file, cell) of the round-1 score
    # the explanation round (explanation_merge.py): the commune's replies, round 2's entries, and
    # the round-1 scores that round 2 replaced in `scores`
    explanations: dict = field(default_factory=dict)
    round2: dict = field(default_factory=dict)
    round2_conflicts: set[str] = field(default_factory=set)
    round1: dict[str, Decimal] = field(default_factory=dict)


def merge_appraisals(entries_by_file: list[tuple[object, list[Entry]]], rubric: Rubric,
                     units: dict[str, Unit]) -> dict[str, UnitAppraisal]:
    """Merge every file's entries; findings go onto the file they come from.

    An unknown unit, a value off the rubric, and two files that disagree on the same criterion of
    the same unit are findings; a conflicting value is merged from neither file.
    """
    seen: dict[tuple[str, str], Entry] = {}
    merged: dict[str, UnitAppraisal] = {}
    owners = {}
    for file_result, entries in entries_by_file:
        for entry in entries:
            owners[id(entry)] = file_result
            if entry.unit not in units:
                file_result.findings.append(make(
                    "appraisal.unknown_unit", file=entry.file, sheet=entry.sheet, cell=entry.cell, node=entry.code,
                    unit=entry.unit, code=entry.code))
                continue
            node = rubric.node(entry.code)
            appraisal = merged.setdefault(entry.unit, UnitAppraisal())
            if entry.comment:
                appraisal.comments[entry.code] = entry.comment
            if entry.value is None:
                continue
            problem = judge_entry(node, entry)
            if problem is not None:
                file_result.findings.append(problem)
                continue
            key = (entry.unit, entry.code)
            earlier = seen.get(key)
            if earlier is not None and earlier.value != entry.value:
                for side, other in ((entry, earlier), (earlier, entry)):
                    owners[id(side)].findings.append(make(
                        "appraisal.conflict", file=side.file, sheet=side.sheet, cell=side.cell, node=side.code,
                        unit=side.unit, code=side.code, value=format_vn(side.value), other=format_vn(other.value),
                        other_file=other.file, other_cell=other.cell))
                appraisal.conflicts.add(entry.code)
                appraisal.scores.pop(entry.code, None)
                continue
            seen[key] = entry
            if entry.code not in appraisal.conflicts:
                appraisal.scores[entry.code] = entry.value
                appraisal.sources[entry.code] = (entry.file, entry.cell)
                if not node.self_scored:
                    appraisal.survey[entry.code] = entry.value
    return merged


def judge_entry(node: Node, entry: Entry) -> Finding | None:
    """The finding for an appraised score the rubric does not allow for `node` (below 0, above
    its maximum, off its levels or its step); None when it is allowed. Round 1 (here) and round 2
    (explanation_merge.py) judge a council's score by this one rule."""
    where = {"file": entry.file, "sheet": entry.sheet, "cell": entry.cell, "node": entry.code}
    value = entry.value
    if value < 0 or value > node.max:
        return make("appraisal.out_of_range", **where, unit=entry.unit, code=entry.code, value=format_vn(value),
                    max=format_vn(node.max))
    if node.levels and value not in {lv.points for lv in node.levels}:
        return make("appraisal.off_level", **where, unit=entry.unit, code=entry.code, value=format_vn(value),
                    allowed="; ".join(format_vn(lv.points) for lv in node.levels))
    if node.step and value % node.step != 0:
        return make("appraisal.off_level", **where, unit=entry.unit, code=entry.code, value=format_vn(value),
                    allowed=f"bội số của {format_vn(node.step)}")
    return None


def appraisal_missing(rubric: Rubric, appraisal: UnitAppraisal | None, excluded: set[str]) -> list[str]:
    """Criteria that still need an appraised (or survey) score before the unit's total is final."""
    done = appraisal.scores if appraisal else {}
    return [leaf.code for leaf in rubric.leaves() if leaf.code not in excluded and leaf.code not in done]

