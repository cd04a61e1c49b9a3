"""Fixed-window counters in Django's cache: every limit Pair-Up keeps (chat
messages, rooms opened, set-password links, failed sign-ins per address).

Windows are aligned to the clock, so the seconds left in one are known (for
`retry_after` and `Retry-After`). Counting is atomic (`cache.add`, then
`cache.incr`), so a limit holds across tabs, rooms and, with Redis,
processes. A fixed window lets up to twice the limit through across a
window's edge: good enough for every use here.
"""

import contextlib
import math
import time
from dataclasses import dataclass

from django.core.cache import cache


@dataclass(frozen=True)
class Window:
    """`limit` hits per `seconds` for the counter called `name`."""

    name: str
    limit: int
    seconds: int

    def _key_and_left(self) -> tuple[str, int]:
        now = time.time()
        window = int(now // self.seconds)
        left = max(1, math.ceil((window + 1) * self.seconds - now))
        return f"{self.name}:{self.seconds}:{window}", left

    def hit(self) -> int | None:
        """Count one hit; return None while within the limit, else the
        seconds until the window ends."""
        key, left = self._key_and_left()
        cache.add(key, 0, timeout=self.seconds + 1)
        try:
            used = cache.incr(key)
        except ValueError:  # the window ended between add() and incr()
            cache.add(key, 1, timeout=self.seconds + 1)
            used = 1
        return None if used <= self.limit else left

    def unhit(self) -> None:
        """Take back one hit (the action it counted didn't happen)."""
        key, _left = self._key_and_left()
        with contextlib.suppress(ValueError):  # the window ended meanwhile
            cache.decr(key)

    def retry_after(self) -> int | None:
        """Like `hit` without counting: None while hits are left."""
        key, left = self._key_and_left()
        return None if cache.get(key, 0) < self.limit else left
