"""A rate limit shared by every worker of one server: fixed windows counted in a small table of shared memory.

The table is made before gunicorn forks its workers (gunicorn.conf.py preloads the app), so every worker counts
in the same memory and the limit holds per server, not per worker. Clients are filed under a keyed hash of their
address, in two rows of slots (a count-min sketch): memory is fixed whatever the number of addresses, each request
costs the same few steps, and no address is kept.
"""

from __future__ import annotations

import fcntl
import hashlib
import ipaddress
import math
import mmap
import os
import secrets
import struct
import tempfile
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass

ROWS = 2
SLOTS = 16_384  # per row: 2 x 16,384 slots x 8 bytes = 256 KiB
SLOT = struct.Struct("<II")  # the window a count belongs to, and the count


@dataclass(frozen=True)
class Rate:
    """A number of requests allowed per window of seconds."""

    limit: int
    window: float

    @classmethod
    def parse(cls, spec: object) -> Rate | None:
        """A rate from "requests/seconds" (e.g. "60/60"); None for "off", "0" or nothing."""
        text = str(spec or "").strip().lower()
        if text in ("", "off", "0", "none", "false"):
            return None
        count, _, seconds = text.partition("/")
        try:
            limit, window = int(count), float(seconds)
        except ValueError:
            raise ValueError(f"RATE_LIMIT must look like '60/60' (requests/seconds), not {spec!r}") from None
        if limit < 1 or not 0 < window < math.inf:
            raise ValueError(f"RATE_LIMIT must allow at least 1 request per positive window, not {spec!r}")
        return cls(limit, window)


def client_key(address: str) -> str:
    """What one client is counted under: its address, or its /64 network for IPv6 (one subscriber's block)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


class SharedLimiter:
    """Requests per client per fixed window, in memory shared with every process forked after it was made."""

    def __init__(self, rate: Rate, clock: Callable[[], float] = time.time, slots: int = SLOTS) -> None:
        self.rate = rate
        # Wall-clock time: every process sees the same windows.
        self.clock = clock
        self.slots = slots
        self._table = mmap.mmap(-1, ROWS * slots * SLOT.size)  # anonymous and shared (MAP_SHARED) across fork
        # A secret per server makes the slots unpredictable: nobody can aim collisions at another client.
        self._secret = secrets.token_bytes(16)
        self._threads = threading.Lock()
        # A POSIX record lock between processes (on a nameless file): the kernel releases it if a worker dies
        # holding it, which a semaphore would not.
        self._processes, name = tempfile.mkstemp(prefix="kb-ratelimit-")
        os.unlink(name)
        weakref.finalize(self, os.close, self._processes)

    def wait(self, address: str) -> float:
        """Count one request; 0 when it is allowed, else the seconds until the client may ask again."""
        now = self.clock()
        number = math.floor(now / self.rate.window)
        window = number & 0xFFFFFFFF
        digest = hashlib.blake2b(client_key(address).encode("utf-8", "replace"), key=self._secret,
                                 digest_size=4 * ROWS).digest()
        offsets = [(row * self.slots + int.from_bytes(digest[4 * row : 4 * row + 4], "little") % self.slots)
                   * SLOT.size for row in range(ROWS)]
        with self._threads:
            fcntl.lockf(self._processes, fcntl.LOCK_EX)
            try:
                counts = [count if seen == window else 0
                          for seen, count in (SLOT.unpack_from(self._table, at) for at in offsets)]
                least = min(counts)
                if least >= self.rate.limit:
                    return (number + 1) * self.rate.window - now
                # Conservative update: raise only the counters at the minimum, so collisions overcount less.
                for at, count in zip(offsets, counts, strict=True):
                    SLOT.pack_into(self._table, at, window, max(count, least + 1))
                return 0.0
            finally:
                fcntl.lockf(self._processes, fcntl.LOCK_UN)
