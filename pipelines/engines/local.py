"""In-process engine: the plain loop, for debugging and small jobs."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import replace
from typing import Any

from ..item import ItemContext
from ..worker import ItemProcessor


class LocalEngine:
    name = "local"

    def __init__(self, workers: int | None = None, **_: Any) -> None:
        self.workers = 1
        self._processor: ItemProcessor | None = None

    def run(self, items: Iterable[Mapping[str, Any]], ctx: ItemContext,
            should_stop: Callable[[], bool] | None = None) -> Iterator[dict[str, Any]]:
        ctx = replace(ctx, engine=self.name)
        if self._processor is None or self._processor.ctx != ctx:
            self._processor = ItemProcessor(ctx)  # once per batch, like a Ray actor
        for item in items:
            if should_stop is not None and should_stop():
                return
            yield self._processor(item)
