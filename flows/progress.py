"""A process-wide progress sink so the CLI can show rich progress for work done inside the flow
(flow parameters must stay plain values, so callbacks cannot be passed in)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol


class ProgressSink(Protocol):
    def stage(self, name: str, total: int | None) -> None: ...

    def advance(self, n: int = 1) -> None: ...

    def position(self, done: int, total: int) -> None: ...

    def record(self, record: Mapping[str, Any]) -> None: ...


class _Silent:
    def stage(self, name: str, total: int | None) -> None:
        pass

    def advance(self, n: int = 1) -> None:
        pass

    def position(self, done: int, total: int) -> None:
        pass

    def record(self, record: Mapping[str, Any]) -> None:
        pass


sink: ProgressSink = _Silent()


def use(new: ProgressSink | None) -> None:
    global sink
    sink = new or _Silent()
