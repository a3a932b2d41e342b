"""Exact recomputation of subtotals and totals from leaf scores, N/A handling, groups, ranking.

The workbook's formulas (generate.py) implement the same rules; this module is the reference
the harvest compares a file's own totals against, and the source of every cached formula value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal

from cchc_xls.numbers import HUNDRED, ZERO, round_half_up
from cchc_xls.rubric import Node, Rubric

RESCALE_PLACES = 3


@dataclass(frozen=True)
class Totals:
    subtotals: dict[str, Decimal]  # every parent code -> sum of its children's contributions
    raw_total: Decimal  # sum of the top-level nodes
    total: Decimal  # after rescaling (equal to raw_total when nothing is not applicable)
    applicable_max: Decimal  # the rubric total less the maxima of not-applicable criteria
    not_applicable: frozenset[str] = field(default_factory=frozenset)


def not_applicable_codes(rubric: Rubric, kind: str | None, marked_na: set[str] | frozenset[str] = frozenset()) -> frozenset[str]:
    """Leaves that do not count for this unit: wrong unit kind, or marked N/A where allowed."""
    result = set()
    for leaf in rubric.leaves():
        if not leaf.applies(kind) or (leaf.may_be_na and leaf.code in marked_na):
            result.add(leaf.code)
    return frozenset(result)


def leaf_contribution(rubric: Rubric, leaf: Node, scores: dict[str, Decimal], na: frozenset[str]) -> Decimal:
    if leaf.code in na:
        return leaf.max if rubric.na_policy == "full_marks" else ZERO
    return scores.get(leaf.code, ZERO)


def compute_totals(rubric: Rubric, scores: dict[str, Decimal], kind: str | None = None,
                   marked_na: set[str] | frozenset[str] = frozenset()) -> Totals:
    """Subtotals and total from leaf scores (already parsed and capped at their maxima)."""
    na = not_applicable_codes(rubric, kind, marked_na)
    subtotals: dict[str, Decimal] = {}

    def value(node: Node) -> Decimal:
        if node.is_leaf:
            return leaf_contribution(rubric, node, scores, na)
        result = sum((value(child) for child in node.children), ZERO)
        subtotals[node.code] = result
        return result

    raw = sum((value(root) for root in rubric.roots), ZERO)
    applicable_max = rubric.total
    if rubric.na_policy == "rescale":
        applicable_max -= sum((rubric.node(code).max for code in na), ZERO)
    total = rescale(raw, rubric.total, applicable_max)
    return Totals(subtotals, raw, total, applicable_max, na)


def rescale(raw: Decimal, total: Decimal, applicable_max: Decimal) -> Decimal:
    """raw × total / applicable maximum, rounded as the workbook's ROUND(…, 3); unchanged when all apply."""
    if applicable_max == total or applicable_max <= 0:
        return raw
    return round_half_up(raw * total / applicable_max, RESCALE_PLACES)


def final_ranking(units) -> bool:
    """The ranking is by the appraised totals only once every submitted unit's appraisal is
    complete; until then it is provisional, by the self totals (a blank is never counted as 0)."""
    submitted = [u for u in units if u.status == "submitted"]
    return bool(submitted) and all(u.appraisal_complete for u in submitted)


def rank_units(units, rubric: Rubric) -> list[tuple[Decimal | None, int | None, str | None]]:
    """(ranking total, rank, group) for each unit, in order; (None, None, None) for a unit that is
    not ranked (sent nothing, or was rejected). The one ranking rule, for the harvest and for
    `cchc rank` alike."""
    final = final_ranking(units)
    totals = [(u.appraisal_total if final else u.self_total) if u.status == "submitted" else None for u in units]
    ranks = iter(rank_with_ties([t or ZERO for u, t in zip(units, totals) if u.status == "submitted"]))
    return [(total, next(ranks), rubric.group_for(total)) if u.status == "submitted" else (None, None, None)
            for u, total in zip(units, totals)]


def rank_with_ties(totals: list[Decimal]) -> list[int]:
    """Competition ranking: equal totals share a rank (1, 2, 2, 4), highest first."""
    ordered = sorted(totals, reverse=True)
    first_position = {}
    for position, value in enumerate(ordered, start=1):
        first_position.setdefault(value, position)
    return [first_position[value] for value in totals]


# ---------------------------------------------------------------------------------------------
# Percentages and shares: every writer (tong-hop, Phụ lục II, reports) takes them from here


def cut_percent(part: Decimal, whole: Decimal) -> Decimal:
    """part as a percentage of whole, two decimals cut, not rounded, as seed 004 writes them
    (14,35/15 -> 95,66); 0 when whole is 0. Reports and the Phụ lục II distribution both use it,
    so the two documents always agree."""
    if not whole:
        return ZERO
    return (Decimal(part) * HUNDRED / Decimal(whole)).quantize(Decimal("0.01"), rounding=ROUND_DOWN)


def self_percent(rubric: Rubric, totals: Totals | None) -> Decimal | None:
    """Raw self total as % of the maximum the unit could give itself (N/A and survey criteria
    excluded), to two places; None when nothing could be scored."""
    if totals is None:
        return None
    possible = sum((n.max for n in rubric.scorable() if n.code not in totals.not_applicable), ZERO)
    if not possible:
        return None
    return (totals.raw_total * HUNDRED / possible).quantize(Decimal("0.01"))


def area_percent(area: Node, scores: dict[str, Decimal], totals: Totals | None) -> Decimal | None:
    """An area's self score as % of the maximum the unit could score in it (survey and N/A
    criteria excluded), to one place; None when nothing in it could be scored."""
    if totals is None:
        return None
    leaves = [n for n in area.leaves() if n.self_scored and n.code not in totals.not_applicable]
    possible = sum((n.max for n in leaves), ZERO)
    if not possible:
        return None
    earned = sum((scores.get(n.code, ZERO) for n in leaves), ZERO)
    return (earned * HUNDRED / possible).quantize(Decimal("0.1"))


def ranks_within(totals: dict[str, Decimal | None]) -> dict[str, int]:
    """Ranks inside a group of units (a cluster): unit code -> competition rank by its total."""
    codes = list(totals)
    return dict(zip(codes, rank_with_ties([totals[code] or ZERO for code in codes])))


def survey_max(rubric: Rubric) -> Decimal:
    """The points the province scores (survey criteria): outside every self total."""
    return sum((leaf.max for leaf in rubric.leaves() if not leaf.self_scored), ZERO)
