"""Cutting sentences into engine batches by a memory budget.

A batch's cost is what its decoder may fill: rows x beams x (longest source + the
output bound of that length), since degenerate output decodes to the bound. Sentences
are sorted by length so similar lengths share a batch (little padding, one decoding
bound fits all), grouped by what one engine call cannot mix (strict decoding; for some
engines the target language), and cut into consecutive runs within the budget.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Hashable, Sequence
from typing import Any

from worker.engines.base import PlannedBatch, Segment

MAX_BATCH_SENTENCES = 64


def cut_batches(
    widths: Sequence[int],
    cost: Callable[[int, int], int],
    budget: int,
    max_rows: int = MAX_BATCH_SENTENCES,
) -> list[list[int]]:
    """Cut items (in the given order, usually sorted by length) into consecutive runs.

    ``cost(rows, width)`` is what a batch of ``rows`` items, the longest ``width``
    tokens, takes of ``budget``; a run grows while it fits and has under ``max_rows``
    items. An item too long to share the budget gets a run of its own. Returns
    positions into ``widths``.
    """
    batches: list[list[int]] = []
    current: list[int] = []
    width = 0
    for position, item_width in enumerate(widths):
        grown = max(width, item_width)
        if current and (cost(len(current) + 1, grown) > budget or len(current) >= max_rows):
            batches.append(current)
            current, grown = [], item_width
        current.append(position)
        width = grown
    if current:
        batches.append(current)
    return batches


def plan_batches(
    segments: Sequence[Segment],
    encoded: Sequence[Sequence[Any]],
    *,
    group: Callable[[Segment], Hashable],
    cost: Callable[[int, int, Segment], int],
    budget: int,
    max_rows: int = MAX_BATCH_SENTENCES,
) -> list[PlannedBatch]:
    """Length-sorted batches of the non-blank ``segments`` within ``budget``.

    Args:
        encoded: Each segment's source tokens (``[]`` for a blank one, left out).
        group: What a batch must share (e.g. strict decoding); groups are planned in
            their sorted order, normal decoding before strict retries.
        cost: ``cost(rows, width, segment)``: the budget a batch of ``rows`` sentences
            at most ``width`` tokens long takes, ``segment`` being one of them.
    """
    todo = sorted((i for i, tokens in enumerate(encoded) if tokens), key=lambda i: len(encoded[i]))
    groups: dict[Hashable, list[int]] = {}
    for index in todo:
        groups.setdefault(group(segments[index]), []).append(index)
    plan: list[PlannedBatch] = []
    for key in sorted(groups, key=repr):
        chosen = groups[key]
        sample = segments[chosen[0]]
        runs = cut_batches(
            [len(encoded[i]) for i in chosen],
            functools.partial(_cost, cost, sample),
            budget,
            max_rows,
        )
        for run in runs:
            batch = [chosen[position] for position in run]
            width = max(len(encoded[i]) for i in batch)
            fill = max(cost(len(batch), width, sample) / budget, len(batch) / max_rows)
            plan.append(PlannedBatch(batch, fill, [encoded[i] for i in batch]))
    return plan


def _cost(cost: Callable[[int, int, Segment], int], sample: Segment, rows: int, width: int) -> int:
    return cost(rows, width, sample)
