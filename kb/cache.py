"""A small in-memory cache of recent results, for popular repeated questions."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import TypeVar

T = TypeVar("T")


class ResultCache:
    """Recent results of one index, least recently used out first, emptied when the index changes.

    Entries are filed under a one-way hash of the request, and callers store results without the question
    text, so the cache holds no readable record of what was asked; it lives in memory only.
    """

    def __init__(self, size: int = 1024) -> None:
        self.size = size
        self._index = ""
        self._entries: OrderedDict[str, object] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, index: str, key: tuple[Hashable, ...], compute: Callable[[], T], keep: Callable[[T], bool]) -> T:
        """The cached result for key under this index, else compute() (stored when keep(result) is true)."""
        if self.size <= 0:
            return compute()
        digest = hashlib.sha256(repr(key).encode("utf-8", "surrogatepass")).hexdigest()
        with self._lock:
            if self._index != index:
                self._entries.clear()
                self._index = index
            if digest in self._entries:
                self._entries.move_to_end(digest)
                return self._entries[digest]  # type: ignore[return-value]
        value = compute()
        if keep(value):
            with self._lock:
                if self._index == index:
                    self._entries[digest] = value
                    while len(self._entries) > self.size:
                        self._entries.popitem(last=False)
        return value

    def __len__(self) -> int:
        return len(self._entries)
