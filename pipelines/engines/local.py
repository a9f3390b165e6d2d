"""In-process engine: the plain loop, for debugging and small jobs."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from typing import Any

from ..item import ItemContext
from ..worker import ItemProcessor


class LocalEngine:
    name = "local"

    def __init__(self, workers: int | None = None, **_: Any) -> None:
        self.workers = 1

    def run(self, items: Sequence[Mapping[str, Any]], ctx: ItemContext) -> Iterator[dict[str, Any]]:
        processor = ItemProcessor(replace(ctx, engine=self.name))
        for item in items:
            yield processor(item)
