"""Two sequences of line ids -> difflib-style opcodes, without quadratic blow-ups.

difflib's SequenceMatcher aligns lines well but goes quadratic on big inputs, so it only ever
sees small regions: common prefixes and suffixes are trimmed first, and big regions are split
on lines that occur exactly once on both sides (the "patience" idea) before it runs.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from difflib import SequenceMatcher

Opcode = tuple[str, int, int, int, int]

MATCHER_LIMIT = 250_000  # n*m above which a region is split on unique lines first
MAX_DEPTH = 64


def align(a: Sequence[int], b: Sequence[int]) -> list[Opcode]:
    """difflib-style opcodes covering both sequences, without quadratic blow-ups."""
    limit = min(len(a), len(b))
    prefix = 0
    while prefix < limit and a[prefix] == b[prefix]:
        prefix += 1
    suffix = 0
    while suffix < limit - prefix and a[-1 - suffix] == b[-1 - suffix]:
        suffix += 1
    ops: list[Opcode] = []
    if prefix:
        ops.append(("equal", 0, prefix, 0, prefix))
    ops.extend(_align(a, b, prefix, len(a) - suffix, prefix, len(b) - suffix, 0))
    if suffix:
        ops.append(("equal", len(a) - suffix, len(a), len(b) - suffix, len(b)))
    return _merge(ops)


def _align(
    a: Sequence[int], b: Sequence[int], alo: int, ahi: int, blo: int, bhi: int, depth: int
) -> list[Opcode]:
    if alo == ahi and blo == bhi:
        return []
    if alo == ahi:
        return [("insert", alo, alo, blo, bhi)]
    if blo == bhi:
        return [("delete", alo, ahi, blo, blo)]
    if (ahi - alo) * (bhi - blo) <= MATCHER_LIMIT:
        matcher = SequenceMatcher(None, a[alo:ahi], b[blo:bhi], autojunk=False)
        return [
            (tag, alo + i1, alo + i2, blo + j1, blo + j2)
            for tag, i1, i2, j1, j2 in matcher.get_opcodes()
        ]
    anchors = _unique_anchors(a, b, alo, ahi, blo, bhi) if depth < MAX_DEPTH else []
    if not anchors:
        return [("replace", alo, ahi, blo, bhi)]
    ops: list[Opcode] = []
    i, j = alo, blo
    for ai, bj in anchors:
        ops.extend(_align(a, b, i, ai, j, bj, depth + 1))
        ops.append(("equal", ai, ai + 1, bj, bj + 1))
        i, j = ai + 1, bj + 1
    ops.extend(_align(a, b, i, ahi, j, bhi, depth + 1))
    return ops


def _unique_anchors(
    a: Sequence[int], b: Sequence[int], alo: int, ahi: int, blo: int, bhi: int
) -> list[tuple[int, int]]:
    """Lines that occur once on each side, kept in an order both sides agree on (LIS)."""
    count_a: dict[int, int] = {}
    for index in range(alo, ahi):
        count_a[a[index]] = count_a.get(a[index], 0) + 1
    position_b: dict[int, int] = {}
    count_b: dict[int, int] = {}
    for index in range(blo, bhi):
        value = b[index]
        count_b[value] = count_b.get(value, 0) + 1
        position_b[value] = index
    pairs = [
        (index, position_b[a[index]])
        for index in range(alo, ahi)
        if count_a[a[index]] == 1 and count_b.get(a[index]) == 1
    ]
    return _longest_increasing(pairs)


def _longest_increasing(pairs: list[tuple[int, int]]) -> list[tuple[int, int]]:
    tails: list[int] = []  # smallest b-index ending an increasing run of each length
    tail_at: list[int] = []
    back: list[int] = [-1] * len(pairs)
    for index, (_, bj) in enumerate(pairs):
        slot = bisect.bisect_left(tails, bj)
        if slot == len(tails):
            tails.append(bj)
            tail_at.append(index)
        else:
            tails[slot] = bj
            tail_at[slot] = index
        back[index] = tail_at[slot - 1] if slot else -1
    chain: list[tuple[int, int]] = []
    index = tail_at[-1] if tail_at else -1
    while index != -1:
        chain.append(pairs[index])
        index = back[index]
    return chain[::-1]


def _merge(ops: list[Opcode]) -> list[Opcode]:
    merged: list[Opcode] = []
    for op in ops:
        if merged and merged[-1][0] == op[0] == "equal":
            tag, i1, _, j1, _ = merged[-1]
            merged[-1] = (tag, i1, op[2], j1, op[4])
        elif merged and merged[-1][0] != "equal" and op[0] != "equal":
            _, i1, _, j1, _ = merged[-1]
            merged[-1] = ("replace", i1, op[2], j1, op[4])
        else:
            merged.append(op)
    return merged
