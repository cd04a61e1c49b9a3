"""Opening night (not a test): N solo teams book a lab slot at once.

    .venv/bin/python bench/rush.py [--runs 3] [--teams 200] [--only floor,a,b,c,cw,d,e]
        [--database-url postgres://...] [--redis redis://127.0.0.1:6379/0]

Each scenario seeds a scratch database (a new SQLite file; for (d) the
PostgreSQL database --database-url names, emptied first: give it one of its
own) with N signed-in solo teams and 1.26 x N free slots in two rooms
(252 for 200 teams), starts daphne with PAIRUP_CHAT_RATE=off (no rate limit
touches booking), makes each team's session directly (no password hashing),
and lets every team start at the same moment:

  (a) board not watched: each team loads /labs/, books a free slot it was
      offered through the page's form (POST, redirect, the board again) and,
      on a refusal, picks another free slot from that page (10 tries);
  (b) every board open: each team loads /labs/, opens /ws/labs/ as board.js
      does, and books through board.js's requests (POST with the CSRF
      header, JSON back); on a refusal it picks another slot its board
      shows free, kept current by the frames alone. Every frame is counted,
      and every HTTP request a frame causes (board.js makes none: 0);
  (c) the herd, board not watched: everyone wants one of the 5 earliest
      slots the page offers; (cw) the same with every board open (the 5
      earliest its board shows free);
  (d) two daphne processes on PostgreSQL (--database-url) and Redis
      (--redis), 2 x N teams, every board open as (b), teams spread over
      the two ports in turn (a round-robin in the client, no proxy);
  (e) as (b), but booking opens at a set time (opens_at) and each team
      loads its board at a random moment of the 10 s before (the last second
      left free), as students wait for the night to start; the page turns
      bookable from its clock, so at opens_at every team books at once, and
      the seconds are counted from then. The bookings' burst, not the board
      loads, is what this measures.

It prints one JSON line per scenario and run: seconds until every team held
a slot (`all_booked_s`, null if some never did), `/labs/` and booking
latencies (p50/p99 ms), tries per team, refusals by reason (boards open:
the JSON answer's code), frames per socket, HTTP requests
caused by frames, 5xx responses, the CPU seconds each server process used
from the start to a second after the last booking (`server_cpu_s`: near the
wall time, the server was the bottleneck), the CPU seconds this client used
in the same time (`client_cpu_s`: taken from the cores the server shares
with it), and, from the database afterwards, teams
with a slot and slots held twice (always 0: a unique index).

`--only floor` measures instead what one request costs the server, one at
a time on a kept-alive connection (CPU ms each, over 300): `/healthz` (no
session, one query: daphne's and Django's own cost) and `/labs/` as a team
of (b) loads it. With every team's requests arriving in the same second,
no percentile can beat the number of requests times these.

The client shares the machine with the server: one asyncio loop, plain
HTTP/1.1 keep-alive connections on asyncio streams (one per team), and a
minimal WebSocket client on raw asyncio protocols.
"""

import argparse
import asyncio
import json
import os
import platform
import random
import re
import secrets
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from chat_load import Server, frame_bytes, manage

TRIES = 10
BOOKABLE = re.compile(rb'action="/labs/([1-9]\d*)/book/"')  # not the template
FREE = re.compile(rb'data-lab-id="([1-9]\d*)"[^>]*data-state="free"')  # open or not
OPENS_AT = re.compile(rb'"opensAt": "([^"]+)"')
CSRF = re.compile(rb'"csrfToken": "(\w+)"')
BOOKED = (b"Your team booked", b"Your team moved")

SEED = """
import json
from datetime import timedelta
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.sessions.backends.db import SessionStore
from django.utils import timezone
from projects.models import BookingRecord, BookingWindow, Lab, Membership, Project
User = get_user_model()
TEAMS, SLOTS = {teams}, {slots}
BookingRecord.objects.all().delete()
Project.objects.all().delete()
Lab.objects.all().delete()
User.objects.filter(username__startswith="7").delete()
BookingWindow.get()
BookingWindow.objects.filter(pk=1).update(
    booking_open=True, opens_at={opens_at}, closes_at=None, schedule_published=False)
start = (timezone.now() + timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
labs = []
for n in range(SLOTS):
    slot = start + timedelta(minutes=15 * (n // 2))
    labs.append(Lab(room=("Rush A", "Rush B")[n % 2], start=slot,
                    end=slot + timedelta(minutes=15)))
Lab.objects.bulk_create(labs)  # ids in board order: by start, then room
unusable = make_password(None)
users = User.objects.bulk_create(
    [User(username=f"{{70000000 + n:08d}}", first_name=f"Rush{{n:04d}}",
          password=unusable) for n in range(TEAMS)])
projects = Project.objects.bulk_create(
    [Project(description=f"Rush team {{n}}") for n in range(TEAMS)])
Membership.objects.bulk_create(
    [Membership(user=u, project=p) for u, p in zip(users, projects)])
keys = []
for user in User.objects.filter(username__startswith="7").order_by("username"):
    session = SessionStore()
    session["_auth_user_id"] = str(user.pk)
    session["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
    session["_auth_user_hash"] = user.get_session_auth_hash()
    session.create()
    keys.append(session.session_key)
print(json.dumps(keys))
"""

CHECK = """
import json
from django.db.models import Count
from projects.models import BookingRecord, Project
booked = Project.objects.filter(lab__isnull=False)
print(json.dumps({
    "teams_with_slot": booked.count(),
    "slots_held_twice": booked.values("lab").annotate(n=Count("id"))
        .filter(n__gt=1).count(),
    "booking_records": BookingRecord.objects.count(),
}))
"""


def pct(values, q):
    if not values:
        return None
    values = sorted(values)
    return round(values[min(len(values) - 1, int(q * len(values)))] * 1000, 1)


# HTTP ----------------------------------------------------------------------


class Http:
    """One keep-alive HTTP/1.1 connection, as one browser tab's."""

    def __init__(self, host, port, session, stats):
        self.host, self.port = host, port
        # A browser's cookie jar: the session, the CSRF cookie, and what the
        # server sets (the messages of the page after a redirect).
        self.cookies = {"sessionid": session, "csrftoken": secrets.token_hex(16)}
        self.stats = stats
        self.reader = self.writer = None

    async def request(self, method, path, *, headers=None, body=b""):
        for attempt in range(2):
            if self.writer is None:
                self.reader, self.writer = await asyncio.open_connection(
                    self.host, self.port
                )
            lines = [
                f"{method} {path} HTTP/1.1",
                f"Host: {self.host}:{self.port}",
                "Cookie: " + "; ".join(f"{k}={v}" for k, v in self.cookies.items()),
                f"Content-Length: {len(body)}",
                *(f"{k}: {v}" for k, v in (headers or {}).items()),
            ]
            self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
            try:
                return await self._response()
            except (asyncio.IncompleteReadError, ConnectionError):
                self.writer.close()
                self.writer = None  # the server closed a kept-alive socket
                if attempt:
                    raise
        raise AssertionError("unreachable")

    async def _response(self):
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        headers = {}
        for line in head.split(b"\r\n")[1:]:
            if b":" in line:
                name, value = line.split(b":", 1)
                name, value = name.strip().lower(), value.strip()
                headers[name] = value
                if name == b"set-cookie":
                    self.set_cookie(value.decode())
        if b"content-length" in headers:
            body = await self.reader.readexactly(int(headers[b"content-length"]))
        elif headers.get(b"transfer-encoding") == b"chunked":
            body = b""
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).strip(), 16)
                body += await self.reader.readexactly(size + 2)
                if size == 0:
                    break
        else:
            body = b""
        if headers.get(b"connection") == b"close":
            self.writer.close()
            self.writer = None
        if status >= 500:
            self.stats["5xx"] += 1
        return status, headers, body

    def set_cookie(self, header: str) -> None:
        pair, *attributes = header.split(";")
        name, _, value = pair.strip().partition("=")
        expired = any(
            a.strip().lower() in ("max-age=0", "expires=thu, 01 jan 1970 00:00:00 gmt")
            for a in attributes
        )
        if expired or value in ("", '""'):
            self.cookies.pop(name, None)
        else:
            self.cookies[name] = value

    async def board(self, path="/labs/"):
        started = time.perf_counter()
        status, _, body = await self.request("GET", path)
        self.stats["board_s"].append(time.perf_counter() - started)
        assert status == 200, (status, body[:200])
        return body

    def close(self):
        if self.writer is not None:
            self.writer.close()


# WebSocket -------------------------------------------------------------------


class Board(asyncio.Protocol):
    """A `/ws/labs/` socket that keeps the slots its board would show free."""

    def __init__(self, request: bytes, free: set):
        self.request = request
        self.free = free
        self.buffer = bytearray()
        self.opened = asyncio.get_running_loop().create_future()
        self.transport = None
        self.frames = 0
        self.slots = 0

    def connection_made(self, transport):
        self.transport = transport
        transport.write(self.request)

    def connection_lost(self, exc):
        if not self.opened.done():
            self.opened.set_exception(ConnectionError("closed before the upgrade"))

    def close(self):
        if self.transport and not self.transport.is_closing():
            self.transport.write(bytes([0x88, 0x82, 0, 0, 0, 0, 0x03, 0xE8]))
            self.transport.close()

    def data_received(self, data):
        buffer = self.buffer
        buffer += data
        if not self.opened.done():
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            ok = b" 101 " in bytes(buffer[: buffer.find(b"\r\n")])
            del buffer[: end + 4]
            if not ok:
                self.opened.set_exception(ConnectionError("refused"))
                self.transport.close()
                return
            self.opened.set_result(None)
        pos, size = 0, len(buffer)
        while size - pos >= 2:
            length, head = buffer[pos + 1] & 0x7F, 2
            if length == 126:
                if size - pos < 4:
                    break
                length, head = int.from_bytes(buffer[pos + 2 : pos + 4], "big"), 4
            elif length == 127:
                if size - pos < 10:
                    break
                length, head = int.from_bytes(buffer[pos + 2 : pos + 10], "big"), 10
            start, end = pos + head, pos + head + length
            if end > size:
                break
            opcode = buffer[pos] & 0x0F
            if opcode == 0x1:
                self.frame(json.loads(bytes(buffer[start:end])))
            elif opcode == 0x9:
                self.transport.write(frame_bytes(bytes(buffer[start:end]), 0xA))
            pos = end
        del buffer[:pos]

    def frame(self, frame):
        """What board.js does with a frame: update the row, request nothing."""
        self.frames += 1
        labs = frame.get("labs") if frame.get("type") == "labs" else [frame]
        for lab in labs or []:
            if "id" not in lab:
                continue
            self.slots += 1
            if lab.get("available"):
                self.free.add(lab["id"])
            else:
                self.free.discard(lab["id"])


async def open_board(host, port, session, free) -> Board:
    request = (
        f"GET /ws/labs/ HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        f"Sec-WebSocket-Version: 13\r\nOrigin: http://{host}:{port}\r\n"
        f"Cookie: sessionid={session}\r\n\r\n"
    ).encode()
    loop = asyncio.get_running_loop()
    _, board = await loop.create_connection(lambda: Board(request, free), host, port)
    await board.opened
    return board


# A team ----------------------------------------------------------------------


def choose(free_ids, herd: bool, rng: random.Random):
    if not free_ids:
        return None
    if herd:
        return rng.choice(sorted(free_ids)[:5])
    return rng.choice(list(free_ids))


async def team(index, session, port, scenario, stats, start_at, rng, opens=None):
    """One team's night. With `opens` (scenario (e)), the board is loaded at
    `start_at` and the team books at `opens`, as the page's clock allows."""
    host = "127.0.0.1"
    http = Http(host, port, session, stats)
    herd = scenario["herd"]
    result = {"tries": 0, "booked_at": None, "frames": 0, "slots": 0}
    board = None
    await asyncio.sleep(max(0, start_at - time.perf_counter()))
    try:
        page = await http.board()
        token = CSRF.search(page)[1].decode()
        # Before booking opens, the page has no Book buttons yet: its free rows.
        free = {int(pk) for pk in (FREE if opens else BOOKABLE).findall(page)}
        if scenario["watched"]:
            started = time.perf_counter()
            board = await open_board(host, port, session, free)
            stats["socket_s"].append(time.perf_counter() - started)
        if opens is not None:
            await asyncio.sleep(max(0, opens - time.perf_counter()))
        while result["tries"] < TRIES and result["booked_at"] is None:
            if not scenario["watched"] and result["tries"]:
                page = await http.board()
                free = {int(pk) for pk in BOOKABLE.findall(page)}
            lab = choose(free, herd, rng)
            if lab is None:
                # Nothing free on this board: wait for a frame, or reload.
                await asyncio.sleep(0.2)
                result["tries"] += 1
                continue
            result["tries"] += 1
            body = f"csrfmiddlewaretoken={token}&next=/labs/".encode()
            headers = {
                "Content-Type": "application/x-www-form-urlencoded",
                "Origin": f"http://{host}:{port}",
                "X-CSRFToken": token,
            }
            if scenario["watched"]:
                headers["Accept"] = "application/json"
            started = time.perf_counter()
            status, _, answer = await http.request(
                "POST", f"/labs/{lab}/book/", headers=headers, body=body
            )
            stats["book_s"].append(time.perf_counter() - started)
            if scenario["watched"]:
                outcome = json.loads(answer)
                if status == 200 and outcome["ok"]:
                    result["booked_at"] = time.perf_counter()
                else:
                    free.discard(lab)
                    stats["refusals"] += 1
                    code = outcome.get("code", str(status))
                    stats["refused_by"][code] = stats["refused_by"].get(code, 0) + 1
            else:
                assert status == 302, (status, answer[:200])
                page = await http.board()  # lands on the board again
                if any(text in page for text in BOOKED):
                    result["booked_at"] = time.perf_counter()
                else:
                    stats["refusals"] += 1
                    free = {int(pk) for pk in BOOKABLE.findall(page)}
                    free.discard(lab)
    except Exception as error:  # counted, never fatal to the run
        stats["errors"].append(f"team {index}: {error!r}"[:300])
    finally:
        if board is not None:
            result["frames"], result["slots"] = board.frames, board.slots
        http.close()
    return result, board


async def rush(sessions, ports, scenario, opens=None):
    """Run every team; with `opens` (a perf_counter time: booking opens then),
    each board is loaded at a random moment of the `preopen` seconds before
    it (the last second left free) and every team books at `opens`."""
    stats = {
        "board_s": [],
        "book_s": [],
        "socket_s": [],
        "5xx": 0,
        "refusals": 0,
        "refused_by": {},  # the JSON answers' codes (boards open)
        "errors": [],
    }
    rng = random.Random(15)
    start_at = time.perf_counter() + 0.5
    starts = [start_at] * len(sessions)
    if opens is not None:
        first = max(start_at, opens - scenario["preopen"])
        arrivals = random.Random(16)
        starts = [first + arrivals.uniform(0, opens - 1 - first) for _ in sessions]
        start_at = opens  # the rush is timed from the moment booking opens
    results = await asyncio.gather(
        *(
            team(i, session, ports[i % len(ports)], scenario, stats, at, rng, opens)
            for i, (session, at) in enumerate(zip(sessions, starts, strict=True))
        )
    )
    # Let the last frames arrive before counting them.
    await asyncio.sleep(1.0)
    boards = [board for _, board in results if board is not None]
    frames = [board.frames for board in boards]
    for board in boards:
        board.close()
    booked = [r["booked_at"] for r, _ in results]
    tries = [r["tries"] for r, _ in results]
    done = [at - start_at for at in booked if at is not None]
    return {
        "all_booked_s": round(max(done), 2) if len(done) == len(booked) else None,
        "teams_booked_by_client": len(done),
        "teams_without_slot": len(booked) - len(done),
        "last_booking_s": round(max(done), 2) if done else None,
        "labs_p50_ms": pct(stats["board_s"], 0.5),
        "labs_p99_ms": pct(stats["board_s"], 0.99),
        "labs_loads": len(stats["board_s"]),
        "book_p50_ms": pct(stats["book_s"], 0.5),
        "book_p99_ms": pct(stats["book_s"], 0.99),
        "bookings_posted": len(stats["book_s"]),
        "refusals": stats["refusals"],
        "refused_by": stats["refused_by"],
        "tries_p50": statistics.median(tries),
        "tries_max": max(tries),
        "sockets": len(boards),
        "handshake_p50_ms": pct(stats["socket_s"], 0.5),
        "handshake_p99_ms": pct(stats["socket_s"], 0.99),
        "frames_per_socket_min": min(frames) if frames else None,
        "frames_per_socket_median": statistics.median(frames) if frames else None,
        "frames_total": sum(frames),
        "requests_caused_by_frames": 0 if boards else None,
        "http_5xx": stats["5xx"],
        "errors": len(stats["errors"]),
        "first_errors": stats["errors"][:3],
    }


SCENARIOS = {
    "a": {"watched": False, "herd": False, "what": "board not watched, any free slot"},
    "b": {"watched": True, "herd": False, "what": "every board open, any free slot"},
    "c": {"watched": False, "herd": True, "what": "herd: 5 earliest, not watched"},
    "cw": {"watched": True, "herd": True, "what": "herd: 5 earliest, boards open"},
    "d": {
        "watched": True,
        "herd": False,
        "what": "two processes, PostgreSQL + Redis, every board open",
        "processes": 2,
        "scale": 2,
    },
    "e": {
        "watched": True,
        "herd": False,
        "what": "boards opened in the 10 s before booking opens, all book at opens_at",
        "preopen": 10.0,
    },
    "floor": {"watched": False, "herd": False, "what": "one request at a time"},
}


async def cpu_ms_per_request(server, session, path, count=300) -> float:
    http = Http("127.0.0.1", server.port, session, {"board_s": [], "5xx": 0})
    for _ in range(10):  # warm-up
        await http.request("GET", path)
    before = cpu_seconds(server.process.pid)
    for _ in range(count):
        status, _, _ = await http.request("GET", path)
        assert status == 200, (path, status)
    http.close()
    return round((cpu_seconds(server.process.pid) - before) * 1000 / count, 2)


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_scenario(key, args, run, workdir) -> dict:
    scenario = SCENARIOS[key]
    preopen = scenario.get("preopen")
    teams = args.teams * scenario.get("scale", 1)
    slots = round(teams * 1.26)
    head = {
        "scenario": key,
        "what": scenario["what"],
        "run": run,
        "teams": teams,
        "free_slots": slots,
    }
    env = {}
    if scenario.get("processes", 1) > 1:
        env = {"DATABASE_URL": args.database_url, "REDIS_URL": args.redis}
    db = workdir / f"rush-{key}-{run}.sqlite3"
    base_env = {
        **os.environ,
        "DATABASE_URL": env.get("DATABASE_URL") or f"sqlite:///{db}",
        "DJANGO_DEBUG": "False",
        "DJANGO_SECRET_KEY": "bench-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "PAIRUP_CHAT_RATE": "off",
    }
    base_env.pop("DJANGO_SETTINGS_MODULE", None)
    if env.get("REDIS_URL"):
        base_env["REDIS_URL"] = env["REDIS_URL"]
    else:
        base_env.pop("REDIS_URL", None)
    manage(base_env, "migrate", "--noinput", "-v", "0")
    sessions = json.loads(
        manage(
            base_env,
            "shell",
            "--no-imports",
            "-c",
            SEED.format(
                teams=teams,
                slots=slots,
                # Long enough for the server to start before the first board.
                opens_at=f"timezone.now() + timedelta(seconds={preopen + 15})"
                if preopen
                else None,
            ),
        )
    )
    servers = [
        Server(
            workdir,
            "pairup.asgi:application",
            {**env, "DATABASE_URL": base_env["DATABASE_URL"]},
            name=f"{key}-{run}-{n}",
        )
        for n in range(scenario.get("processes", 1))
    ]
    for server in servers:
        print(
            f"# ({key}) daphne pid {server.process.pid} on port {server.port}",
            file=sys.stderr,
            flush=True,
        )
    try:
        # One warm-up page per process, as a server running for a while has.
        async def warm():
            for server in servers:
                http = Http(
                    "127.0.0.1", server.port, sessions[0], {"board_s": [], "5xx": 0}
                )
                page = await http.board()
                http.close()
            return page

        page = asyncio.run(warm())
        if key == "floor":
            return {
                **head,
                **{
                    f"{name}_cpu_ms": asyncio.run(
                        cpu_ms_per_request(servers[0], sessions[1], path)
                    )
                    for name, path in (("healthz", "/healthz"), ("labs", "/labs/"))
                },
            }
        opens = None
        if preopen:  # when booking opens, on this process's clock
            opens_at = datetime.fromisoformat(OPENS_AT.search(page)[1].decode())
            opens = time.perf_counter() + opens_at.timestamp() - time.time()
        cpu_before = [cpu_seconds(server.process.pid) for server in servers]
        client_before = cpu_seconds(os.getpid())
        figures = asyncio.run(
            rush(sessions, [s.port for s in servers], scenario, opens)
        )
        figures["server_cpu_s"] = [
            round(cpu_seconds(server.process.pid) - before, 2)
            for server, before in zip(servers, cpu_before, strict=True)
        ]
        figures["client_cpu_s"] = round(cpu_seconds(os.getpid()) - client_before, 2)
    finally:
        for server in servers:
            server.stop()
    check = json.loads(manage(base_env, "shell", "--no-imports", "-c", CHECK))
    return {
        **head,
        "processes": len(servers),
        "database": "PostgreSQL"
        if "postgres" in base_env["DATABASE_URL"]
        else "SQLite",
        **figures,
        **check,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--teams", type=int, default=200)
    parser.add_argument("--only", default="floor,a,b,c,cw,d,e")
    parser.add_argument(
        "--database-url", help="(d): an EMPTY PostgreSQL database of its own"
    )
    parser.add_argument("--redis", default=os.environ.get("REDIS_URL"))
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the scratch folder (SQLite files, each daphne's log)",
    )
    args = parser.parse_args()
    keys = [key for key in args.only.split(",") if key]
    if "d" in keys and not (args.database_url and args.redis):
        print(
            "(d) needs --database-url postgres://... and --redis redis://...; skipped",
            file=sys.stderr,
        )
        keys.remove("d")
    print(
        f"# {os.cpu_count()} CPU(s), {platform.platform()}, Python "
        f"{platform.python_version()}; load average {os.getloadavg()[0]:.1f}",
        file=sys.stderr,
    )
    workdir = Path(tempfile.mkdtemp(prefix="pairup-rush-"))
    for run in range(1, args.runs + 1):
        for key in keys:
            line = run_scenario(key, args, run, workdir)
            line["load_average"] = round(os.getloadavg()[0], 1)
            print(json.dumps(line), flush=True)
    if args.keep:
        print(f"# kept {workdir}", file=sys.stderr)
        return
    for path in workdir.iterdir():
        path.unlink()
    workdir.rmdir()


if __name__ == "__main__":
    main()
