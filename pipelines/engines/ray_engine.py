"""Ray engine: a self-healing pool of long-lived actors, each holding one ItemProcessor (models load
once per actor, not per file).

Local Ray by default (`ray.init()`), a cluster with `ray_address`. Only item rows go to the actors and
only records come back: audio never enters the object store.

- Backpressure: items are pulled from the (lazy) input only as actors free up, at most `in_flight`
  per actor (one running, one queued so the actor never idles between items).
- A worker that dies (node lost, process killed, out of memory) is replaced with a new actor and its
  items go to the other actors; the item that was running when it died counts an attempt, and after
  `max_attempts` it is recorded as failed (a file that crashes its worker every time must not stall
  the archive). Errors raised by process_item itself are already records (status failed).
- Resources: one CPU per actor and `num_gpus` from `resources.gpus_per_worker` (a share of the
  cluster's GPUs when the policy routes to neural ops).
"""

from __future__ import annotations

import logging
import os
import socket
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import ray
from ray.exceptions import RayError, RayTaskError

from ..audio_io import OutputUnavailable
from ..item import ItemContext, process_item
from ..worker import ItemProcessor, limit_threads
from .resources import gpus_per_worker

log = logging.getLogger(__name__)


@ray.remote(num_cpus=1, max_restarts=0, max_task_retries=0)
class RayItemWorker:
    def __init__(self, ctx: ItemContext) -> None:
        limit_threads(1)
        self.processor = ItemProcessor(ctx)

    def ready(self) -> str:
        return f"{socket.gethostname()}:{os.getpid()}"

    def process(self, item: Mapping[str, Any]) -> dict[str, Any]:
        return self.processor(item)


@dataclass(eq=False)
class _Slot:
    actor: Any
    ready: bool = False
    name: str = "?"
    calls: deque = field(default_factory=deque)  # refs in submit order: calls[0] is running


def _failed(item: Mapping[str, Any], ctx: ItemContext, error: str) -> dict[str, Any]:
    """The failed record of an item its worker could not finish (process_item records a given error
    without opening the file, so the record has every column the engines agree on)."""
    return process_item(dict(item, error=error), ctx)


class RayEngine:
    name = "ray"

    def __init__(self, workers: int | None = None, ray_address: str | None = None,
                 gpus_per_worker: float | None = None, in_flight: int = 2, max_attempts: int = 3,
                 startup_timeout_s: float = 600.0, **_: Any) -> None:
        if in_flight < 1 or max_attempts < 1:
            raise ValueError("in_flight and max_attempts must be >= 1")
        self.ray_address = ray_address
        self.workers = workers
        self.gpus_requested = gpus_per_worker
        self.in_flight = in_flight
        self.max_attempts = max_attempts
        self.startup_timeout_s = startup_timeout_s
        self.stats: Counter = Counter()  # started, lost, retried, gave_up
        self._slots: list[_Slot] = []
        self._starting: dict[Any, _Slot] = {}  # ready() ref -> slot
        self._ctx: ItemContext | None = None
        self._options: dict[str, Any] = {}

    # -- pool ---------------------------------------------------------------------------------
    def _ensure_ray(self) -> None:
        if ray.is_initialized():
            return
        kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
        if self.ray_address:
            ray.init(address=self.ray_address, **kwargs)
        else:
            ray.init(num_cpus=max(self.workers or 0, os.cpu_count() or 1), **kwargs)

    def _spawn(self) -> None:
        slot = _Slot(RayItemWorker.options(**self._options).remote(self._ctx))
        self._starting[slot.actor.ready.remote()] = slot
        self._slots.append(slot)
        self.stats["started"] += 1

    def _start(self, ctx: ItemContext) -> None:
        if self._ctx == ctx and self._slots:
            return
        self.close()
        self._ensure_ray()
        resources = ray.cluster_resources()
        n = self.workers or max(1, int(resources.get("CPU", 1)))
        gpus = gpus_per_worker(self.gpus_requested, ctx.policy, resources.get("GPU", 0.0), n)
        self._options = {"num_cpus": 1, "num_gpus": gpus, "scheduling_strategy": "SPREAD"}
        self._ctx = ctx
        for _ in range(n):
            self._spawn()
        log.info("ray: %d workers (%s GPU each) on %s", n, gpus, self.ray_address or "local Ray")

    def _lose(self, slot: _Slot, exc: BaseException) -> None:
        """Drop a dead worker and start a replacement (scheduled when the cluster has room)."""
        if slot not in self._slots:
            return
        self._slots.remove(slot)
        self.stats["lost"] += 1
        log.warning("ray: worker %s lost (%s); starting a replacement", slot.name, type(exc).__name__)
        try:
            ray.kill(slot.actor, no_restart=True)
        except Exception:  # already gone with its node
            pass
        self._spawn()

    # -- running ------------------------------------------------------------------------------
    def run(self, items: Iterable[Mapping[str, Any]], ctx: ItemContext,
            should_stop: Callable[[], bool] | None = None) -> Iterator[dict[str, Any]]:
        """Records of `items` in completion order; stops taking new items once should_stop()."""
        ctx = replace(ctx, engine=self.name)
        self._start(ctx)
        source = iter(items)
        exhausted = False
        retry: deque[tuple[Mapping[str, Any], int]] = deque()
        inflight: dict[Any, tuple[_Slot, Mapping[str, Any], int]] = {}

        def next_item() -> tuple[Mapping[str, Any], int] | None:
            nonlocal exhausted
            if retry:
                return retry.popleft()
            if exhausted or (should_stop is not None and should_stop()):
                return None
            item = next(source, None)
            if item is None:
                exhausted = True
                return None
            return dict(item), 0

        try:
            while True:
                for slot in [s for s in self._slots if s.ready]:
                    while len(slot.calls) < self.in_flight:
                        nxt = next_item()
                        if nxt is None:
                            break
                        ref = slot.actor.process.remote(nxt[0])
                        slot.calls.append(ref)
                        inflight[ref] = (slot, *nxt)
                if not inflight and not retry and (exhausted or (should_stop is not None and should_stop())):
                    return
                waiting = list(inflight) + list(self._starting)
                done, _ = ray.wait(waiting, num_returns=1,
                                   timeout=None if inflight else self.startup_timeout_s)
                if not done:
                    raise RuntimeError(f"no Ray worker became ready within {self.startup_timeout_s:.0f} s")
                ref = done[0]
                if ref in self._starting:
                    slot = self._starting.pop(ref)
                    try:
                        slot.name, slot.ready = ray.get(ref), True
                    except RayError as exc:
                        self._lose(slot, exc)
                    continue
                slot, item, attempts = inflight.pop(ref)
                running = bool(slot.calls) and slot.calls[0] == ref
                if ref in slot.calls:
                    slot.calls.remove(ref)
                try:
                    yield ray.get(ref)
                    continue
                except RayTaskError as exc:  # process_item raised past its own handler: a bug, not the file
                    if isinstance(exc.cause, OutputUnavailable):  # OUT is full: stop, record nothing
                        raise exc.cause from exc
                    yield _failed(item, ctx, f"worker error: {exc.cause!r}"[:2000])
                    continue
                except RayError as exc:  # the worker died under the item
                    self._lose(slot, exc)
                    for other in list(slot.calls):  # queued behind it: not their fault
                        _, other_item, other_attempts = inflight.pop(other)
                        retry.append((other_item, other_attempts))
                    slot.calls.clear()
                    attempts += 1 if running else 0
                    if attempts >= self.max_attempts:
                        self.stats["gave_up"] += 1
                        yield _failed(item, ctx, f"worker lost {attempts} times while processing this item "
                                                 f"(last: {type(exc).__name__})")
                    else:
                        self.stats["retried"] += 1
                        retry.append((item, attempts))
        finally:
            if inflight:  # the consumer stopped early: let the actors finish before the next run
                ray.wait(list(inflight), num_returns=len(inflight), timeout=self.startup_timeout_s)
                for slot in self._slots:
                    slot.calls.clear()

    def close(self) -> None:
        """Release the actors (Ray itself stays up if someone else started it)."""
        for slot in self._slots:
            try:
                ray.kill(slot.actor, no_restart=True)
            except Exception:
                pass
        self._slots = []
        self._starting = {}
        self._ctx = None
