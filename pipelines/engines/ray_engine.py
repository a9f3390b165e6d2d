"""Ray engine: a pool of long-lived actors, each holding one ItemProcessor (models load once).

Local Ray by default (`ray.init()`), a cluster with `ray_address`. Only item rows go to the actors and
only records come back: audio never enters the object store. The pool keeps at most one item in
flight per actor, so a million pending items never sit in memory at once.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from typing import Any

import ray
from ray.util import ActorPool

from ..item import ItemContext
from ..worker import ItemProcessor, limit_threads


@ray.remote(num_cpus=1, max_restarts=2, max_task_retries=2)
class RayItemWorker:
    def __init__(self, ctx: ItemContext) -> None:
        limit_threads(1)
        self.processor = ItemProcessor(ctx)

    def process(self, item: Mapping[str, Any]) -> dict[str, Any]:
        return self.processor(item)


class RayEngine:
    name = "ray"

    def __init__(self, workers: int | None = None, ray_address: str | None = None, **_: Any) -> None:
        self.ray_address = ray_address
        self.workers = workers
        self._actors_alive: list = []
        self._pool: ActorPool | None = None
        self._pool_ctx: ItemContext | None = None

    def _ensure_ray(self) -> None:
        if ray.is_initialized():
            return
        kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
        if self.ray_address:
            ray.init(address=self.ray_address, **kwargs)
        else:
            ray.init(num_cpus=max(self.workers or 0, os.cpu_count() or 1), **kwargs)

    def _actors(self, ctx: ItemContext) -> ActorPool:
        if self._pool is None or self._pool_ctx != ctx:
            self.close()
            self._ensure_ray()
            n = self.workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
            self._actors_alive = [RayItemWorker.remote(ctx) for _ in range(n)]
            self._pool = ActorPool(self._actors_alive)
            self._pool_ctx = ctx
        return self._pool

    def run(self, items: Sequence[Mapping[str, Any]], ctx: ItemContext) -> Iterator[dict[str, Any]]:
        pool = self._actors(replace(ctx, engine=self.name))
        yield from pool.map_unordered(lambda actor, item: actor.process.remote(dict(item)), list(items))

    def close(self) -> None:
        """Release the actors (Ray itself stays up if someone else started it)."""
        for actor in self._actors_alive:
            ray.kill(actor)
        self._actors_alive = []
        self._pool = None
