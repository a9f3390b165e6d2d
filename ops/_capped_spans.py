"""A bounded list of time spans for a Finding's regions (the leading underscore keeps load_all out).

Spans arrive in time order; when more than `cap` are kept, neighbours are merged with a doubling
gap, so a three-hour crackly side still gets regions over its whole length in bounded memory.
"""

from __future__ import annotations

import numpy as np

from ._util import spans


class CappedSpans:
    def __init__(self, cap: int, merge_s: float) -> None:
        self.cap, self.merge = int(cap), float(merge_s)
        self.items: list[tuple[float, float]] = []

    def add(self, start_s: float, end_s: float) -> None:
        if self.items and start_s - self.items[-1][1] < self.merge:
            self.items[-1] = (self.items[-1][0], max(self.items[-1][1], end_s))
        else:
            self.items.append((start_s, end_s))
        while len(self.items) > self.cap:
            self.merge *= 2
            r = np.array(self.items)
            self.items = spans(r[:, 0], r[:, 1], self.merge)

    def as_tuple(self) -> tuple[tuple[float, float], ...]:
        return tuple((float(s), float(e)) for s, e in self.items)
