"""What every user sees alike on the board, kept in each process.

The board page, `/labs/frames/` and the API's `/labs` read the upcoming
slots' facts (`selectors.lab_facts`) from here instead of the database. The
copy is tagged with a version kept in Django's cache (shared by every
process when REDIS_URL is set); each change event bumps it and carries the
new number with the changed slots' facts, so the sending process, and any
process whose board sockets receive the event, patch their copy in place
instead of reloading a thousand slots. Each event's facts are also kept in
the cache for EVENT_SECONDS: a process whose copy is a few versions behind
when a page asks (another process's events still on their way to its
sockets, which on opening night is most of the time) patches it from there
with one read. A copy further behind, or missing an event (a gap, a cleared
cache), is rebuilt on the next read, and so is one older than MAX_AGE
seconds: that bounds how long a change made where no event is sent (a
shell, a command in another process on the in-memory layer) can hide.
"""

import secrets
import threading
import time
from dataclasses import dataclass, field

from django.core.cache import cache
from django.utils import timezone

from projects import selectors

VERSION_KEY = "pairup:board-version"
EVENT_KEY = "pairup:board-event:{}"  # a version's changed facts
EVENT_SECONDS = 60
CATCH_UP = 64  # events read to catch a copy up; further behind, rebuild
MAX_AGE = 5.0  # seconds


@dataclass(frozen=True)
class _Copy:
    version: int | None = None
    built: float = 0.0
    by_id: dict = field(default_factory=dict)
    ordered: list = field(default_factory=list)


_lock = threading.Lock()
_copy = _Copy()


def _fresh_version() -> int:
    # Random, so a cleared cache never matches a copy built before it.
    cache.add(VERSION_KEY, secrets.randbits(48))
    return cache.get(VERSION_KEY)


def version() -> int:
    """The version of the board's facts now."""
    current = cache.get(VERSION_KEY)
    return current if current is not None else _fresh_version()


def bump() -> int:
    """Move the version on (after a change committed); return the new one."""
    try:
        return cache.incr(VERSION_KEY)
    except ValueError:  # no version yet (a cleared or restarted cache)
        return _fresh_version()


def remember(event: dict) -> None:
    """Keep a change event's facts in the cache, for copies that are behind."""
    cache.set(EVENT_KEY.format(event["version"]), event["labs"], EVENT_SECONDS)


def _order(by_id: dict) -> list:
    return sorted(by_id.values(), key=lambda facts: (facts["ts"], facts["room"]))


def _patched(copy: _Copy, changes, version: int) -> _Copy:
    """The copy with each list of changed facts applied in turn."""
    by_id = dict(copy.by_id)
    for labs in changes:
        for facts in labs:
            if facts.get("removed"):
                by_id.pop(facts["id"], None)
            else:
                # A copy: rendered pieces get cached on it (rows.py), never
                # on the event other sockets read.
                by_id[facts["id"]] = dict(facts)
    return _Copy(version=version, built=copy.built, by_id=by_id, ordered=_order(by_id))


def _caught_up(copy: _Copy, current: int) -> _Copy | None:
    """The copy patched up to `current` from the events kept in the cache,
    or None if it is too far behind or one of them is missing."""
    if copy.version is None or not 0 < current - copy.version <= CATCH_UP:
        return None
    keys = [EVENT_KEY.format(v) for v in range(copy.version + 1, current + 1)]
    found = cache.get_many(keys)
    if len(found) != len(keys):
        return None
    return _patched(copy, (found[key] for key in keys), current)


def upcoming(*, now=None) -> list[dict]:
    """Return the facts of every upcoming slot, by start and room.

    From the process's copy when it is current; a copy a few events behind
    is patched from the cache (one read); else one query rebuilds it.
    """
    global _copy
    now = now or timezone.now()
    current = version()
    copy = _copy
    young = time.monotonic() - copy.built <= MAX_AGE
    if copy.version != current or not young:
        behind = copy
        copy = _caught_up(behind, current) if young else None
        rebuilt = copy is None
        if rebuilt:
            facts = selectors.lab_facts_list(now=now)
            copy = _Copy(
                version=current,
                built=time.monotonic(),
                by_id={f["id"]: f for f in facts},
                ordered=facts,
            )
        with _lock:
            # A patched copy replaces only the one it was patched from: a
            # socket's event may have moved that on meanwhile.
            if rebuilt or _copy is behind:
                _copy = copy
    ts = now.timestamp()
    return [facts for facts in copy.ordered if facts["ts"] > ts]


def apply(event: dict) -> None:
    """Patch the copy with a change event's facts if it is the next version.

    Every socket of the process calls this with the same event; only the
    first patches.
    """
    global _copy
    new_version = event.get("version")
    first = event.get("first_version", new_version)  # merged events: a range
    with _lock:
        copy = _copy
        if copy.version is None or new_version is None:
            return
        if not first - 1 <= copy.version < new_version:
            return
        _copy = _patched(copy, [event["labs"]], new_version)


def forget() -> None:
    """Drop the process's copy (tests that change slots behind the services)."""
    global _copy
    with _lock:
        _copy = _Copy()
