"""Engines distribute process_item; they never touch audio themselves.

An engine is a class with `name` and `run(items, ctx, should_stop=None) -> Iterator[record]`,
registered in ENGINES. `items` may be a lazy iterable: an engine pulls items only as it has room for
them, and stops pulling once `should_stop()` is true (deadline reached, OUT's lock lost), finishing
what it started. A new engine is one module plus one line here.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, Protocol

from ..item import ItemContext


class Engine(Protocol):
    name: str

    def run(self, items: Iterable[Mapping[str, Any]], ctx: ItemContext,
            should_stop: Callable[[], bool] | None = None) -> Iterator[dict[str, Any]]: ...


# name -> "module:Class", imported on use so that Ray or Beam load only when chosen.
ENGINES: dict[str, str] = {
    "ray": "ray_engine:RayEngine",
    "beam": "beam_engine:BeamEngine",
    "local": "local:LocalEngine",
}


def get_engine(name: str, **options: Any) -> Engine:
    if name not in ENGINES:
        raise ValueError(f"unknown engine {name!r}; choose one of {sorted(ENGINES)}")
    module, cls = ENGINES[name].split(":")
    return getattr(importlib.import_module(f"{__package__}.{module}"), cls)(**options)
