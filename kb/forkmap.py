"""How the build uses the machine: a function over many items on every core (the later chunks in forked processes,
which inherit what the function reads, an opened index and its engine, without pickling it, and send their results
back in order), two jobs side by side, and the cyclic garbage collector paused while millions of objects are made."""

from __future__ import annotations

import gc
import multiprocessing
import os
import threading
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from multiprocessing.connection import Connection
from typing import TypeVar, cast

T = TypeVar("T")
R = TypeVar("R")


def cores() -> int:
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def fork_safe() -> bool:
    """Whether forking is safe here: a process of one thread (another thread could hold a lock the child needs)."""
    return hasattr(os, "fork") and threading.active_count() == 1


def fork_map(fn: Callable[[T], R], items: Sequence[T], workers: int, least: int = 200,
             safe: Callable[[], bool] = fork_safe) -> list[R]:
    """[fn(x) for x in items], in order: the first share in this process, each other share in a forked child, when
    there are `workers` > 1, at least `least` items a share and forking is safe. A child that fails or dies costs
    nothing but time: its share is worked here."""
    shares = min(workers, len(items) // max(least, 1))
    if shares < 2 or not safe():
        return [fn(x) for x in items]
    # Items are dealt in turn, not cut in runs: neighbours in a list are alike (one writer's long messages), so runs
    # would leave one core waiting for the other (the bank's second half took 20.8 s against the first's 18).
    dealt = [items[k::shares] for k in range(shares)]
    context = multiprocessing.get_context("fork")
    children = []
    for k in range(1, shares):
        receive, send = context.Pipe(duplex=False)
        child = context.Process(target=_work, args=(fn, dealt[k], send), daemon=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # Python 3.12 on fork() beside threads
            child.start()
        send.close()
        children.append((child, receive, k))
    results = [[fn(x) for x in dealt[0]]]
    for child, receive, k in children:
        try:
            done: list[R] | None = receive.recv()
        except EOFError:  # the child died before sending
            done = None
        child.join()
        results.append(done if done is not None else [fn(x) for x in dealt[k]])
    return [results[i % shares][i // shares] for i in range(len(items))]


def _work(fn: Callable[[T], R], chunk: Sequence[T], send: Connection) -> None:
    """A child's part: its results, or None when fn fails (the parent works the chunk and meets the error)."""
    try:
        results: list[R] | None = [fn(x) for x in chunk]
    except Exception:  # noqa: BLE001 - the parent repeats the chunk, so the error is raised where it is seen
        results = None
    send.send(results)
    send.close()


def beside(here: Callable[[], T], there: Callable[[], R], safe: Callable[[], bool] = fork_safe) -> tuple[T, R]:
    """(here(), there()), there() in a forked child while here() runs in this process (one after the other here,
    where forking is unsafe or the child dies)."""
    first, second = fork_map(_call, [here, there], workers=2, least=1, safe=safe)
    return cast(T, first), cast(R, second)


def _call(job: Callable[[], object]) -> object:
    return job()


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector paused inside (as it was after): for work that makes millions of small
    objects that live to its end, each of whose full collections would walk them all for nothing."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()
