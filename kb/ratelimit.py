"""A rate limit shared by every worker of one server, kept in a small table of shared memory.

The table is made before gunicorn forks its workers (gunicorn.conf.py preloads the app), so every worker counts
in the same memory and the limit holds per server, not per worker. Each client may send a short burst, then
requests at the steady rate (the generic cell rate algorithm: one time per client, when its next request would be
due). Clients are filed under a keyed hash of their address in two rows of slots, each client taking the smaller
of its two (a count-min sketch): memory is fixed whatever the number of addresses, each request costs the same
few steps, no address is kept, and a collision can only make a limit stricter, never let a client past it.
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
SLOT = struct.Struct("<d")  # when the client's next request is due, at the steady rate (0: never seen)
BURST = 20  # requests a client may send at once before the steady rate applies (at most the limit)


@dataclass(frozen=True)
class Rate:
    """A number of requests allowed per window of seconds, and how many of them may come at once."""

    limit: int
    window: float
    burst: int = 1

    @classmethod
    def parse(cls, spec: object) -> Rate | None:
        """A rate from "requests/seconds" (e.g. "120/60"), or "requests/seconds/burst"; None for "off" or "0"."""
        text = str(spec or "").strip().lower()
        if text in ("", "off", "0", "none", "false"):
            return None
        parts = text.split("/")
        try:
            limit, window = int(parts[0]), float(parts[1])
            burst = int(parts[2]) if len(parts) == 3 else min(limit, BURST)
        except (ValueError, IndexError):
            raise ValueError(f"RATE_LIMIT must look like '120/60' (requests/seconds), not {spec!r}") from None
        if len(parts) > 3 or limit < 1 or not 0 < window < math.inf or not 1 <= burst <= limit:
            raise ValueError(f"RATE_LIMIT must allow at least 1 request per positive window, not {spec!r}")
        return cls(limit, window, burst)

    @property
    def interval(self) -> float:
        """Seconds between requests at the steady rate."""
        return self.window / self.limit


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
    """Requests per client at a rate, in memory shared with every process forked after it was made."""

    def __init__(self, rate: Rate, clock: Callable[[], float] = time.time, slots: int = SLOTS) -> None:
        self.rate = rate
        # Wall-clock time: every process reads the same clock.
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
        interval, tolerance = self.rate.interval, self.rate.burst * self.rate.interval
        digest = hashlib.blake2b(client_key(address).encode("utf-8", "replace"), key=self._secret,
                                 digest_size=4 * ROWS).digest()
        offsets = [(row * self.slots + int.from_bytes(digest[4 * row : 4 * row + 4], "little") % self.slots)
                   * SLOT.size for row in range(ROWS)]
        with self._threads:
            fcntl.lockf(self._processes, fcntl.LOCK_EX)
            try:
                due: float = min(SLOT.unpack_from(self._table, at)[0] for at in offsets)
                following = max(due, now) + interval
                if following - now > tolerance:
                    return following - now - tolerance
                # Raise only the slots behind this client's time, so collisions delay others as little as can be.
                for at in offsets:
                    SLOT.pack_into(self._table, at, max(SLOT.unpack_from(self._table, at)[0], following))
                return 0.0
            finally:
                fcntl.lockf(self._processes, fcntl.LOCK_UN)
