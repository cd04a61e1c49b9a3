"""Chat load benchmark (not a test): deliveries/s, latency, loss, memory.

    .venv/bin/python bench/chat_load.py [--runs 3] [--clients 50] [--senders 5]
        [--rate 20] [--duration 5] [--burst 20] [--big-clients 200]
        [--big-senders 50] [--idle 1000] [--redis redis://127.0.0.1:6379/0]
        [--database-url postgres://...] [--only a,b,c,d,e,f,g,h]

Starts daphne on a scratch SQLite database (or --database-url, which it
empties first: give it a database of its own) with PAIRUP_CHAT_RATE=off (a
refused message would count as lost), creates the users and their sessions
directly (no password hashing), and runs, one server at a time, the same
load client against:

  (a) Pair-Up paced: N clients in the lobby, S of them sending R messages/s;
  (b) Pair-Up burst: N clients each sending B messages at once;
  (c) the same burst against the Channels tutorial's consumer (in-memory
      layer, no storage, no checks), carried here as `baseline_app`;
  (d) the same burst against a bare ASGI app on daphne that writes one
      frame to every socket (no Channels, no storage): `bare_app`;
  (e) Pair-Up, a bigger room: 200 clients, 50 of them sending B each;
  (f) the tutorial consumer under (e)'s load;
  (g) Pair-Up, 1,000 idle signed-in sockets joining the lobby on a fresh
      process: seconds until every socket has its history and presence,
      presence frames received (coalesced: far fewer than one list per
      join per member), and the daphne process's resident memory (VmRSS
      from /proc) before and with the sockets open;
  (h) with --redis (or REDIS_URL): two Pair-Up processes on one database
      and Redis, the clients and senders split between them, burst as (b).
      Each process counts the layer messages it sends and receives
      (`PAIRUP_CHAT_STATS`, chat/hub.py): a process delivers its own events
      to its sockets without the layer, so receipts per send equal the
      number of other processes, not of listeners.

How it measures. The client shares the 2-core machine with the server, so it
is kept cheap: one asyncio event loop, a minimal WebSocket client on raw
asyncio protocols (no per-frame futures, queues or UTF-8 decoding; frames
are scanned in the receive buffer), and outgoing frames masked with a zero
key, so a frame is its header and payload. Each message text carries the
sender's perf_counter_ns; a delivery is one message frame arriving at one
client (every client, sender included, should get every message), and its
latency is arrival minus send time in the same clock. Deliveries/s =
deliveries / (last delivery - first send). Lost = expected - delivered
within the wait (30 s + 0.5 s per message per sender after the last send).
Each scenario runs --runs times against one server process; the table gives
min / median / max of deliveries/s and the median p50 and p99.
"""

import argparse
import asyncio
import contextlib
import json
import os
import platform
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
MARK = re.compile(rb"B\|(\d+)\|(\d+)\|(\d+)\|E")


# The baseline server: the Channels tutorial's consumer, run by daphne. ---


def _baseline():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pairup.settings")
    import django

    django.setup()
    from channels.generic.websocket import AsyncWebsocketConsumer
    from channels.routing import ProtocolTypeRouter, URLRouter
    from django.urls import path

    class TutorialConsumer(AsyncWebsocketConsumer):
        async def connect(self):
            await self.channel_layer.group_add("bench", self.channel_name)
            await self.accept()

        async def disconnect(self, code):
            await self.channel_layer.group_discard("bench", self.channel_name)

        async def receive(self, text_data=None, bytes_data=None):
            message = json.loads(text_data)["text"]
            await self.channel_layer.group_send(
                "bench", {"type": "chat.message", "message": message}
            )

        async def chat_message(self, event):
            await self.send(text_data=json.dumps({"message": event["message"]}))

    return ProtocolTypeRouter(
        {"websocket": URLRouter([path("ws/bench/", TutorialConsumer.as_asgi())])}
    )


if os.environ.get("PAIRUP_BENCH_BASELINE") == "1":
    baseline_app = _baseline()


# The bare server: plain ASGI, one frame to every socket. ------------------

_bare_sockets: set = set()


async def bare_app(scope, receive, send):
    """Accept every socket; write each received message to all of them."""
    if scope["type"] != "websocket":
        return
    await receive()  # websocket.connect
    await send({"type": "websocket.accept"})
    _bare_sockets.add(send)
    try:
        while True:
            event = await receive()
            if event["type"] == "websocket.disconnect":
                return
            text = json.dumps({"message": json.loads(event["text"])["text"]})
            frame = {"type": "websocket.send", "text": text}
            for other in list(_bare_sockets):
                with contextlib.suppress(Exception):
                    await other(frame)
    finally:
        _bare_sockets.discard(send)


# Servers ------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


SETUP_CODE = """
import json
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.sessions.backends.db import SessionStore
from chat.models import Room
Room.objects.get_or_create(slug="lobby", defaults={"name": "Lobby"})
User = get_user_model()
users = User.objects.bulk_create(
    [User(username=f"{90000000 + n:08d}", first_name=f"Load{n:04d}",
          password=make_password(None)) for n in range(COUNT)]
)
keys = []
for user in User.objects.filter(username__startswith="9").order_by("username"):
    session = SessionStore()
    session["_auth_user_id"] = str(user.pk)
    session["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
    session["_auth_user_hash"] = user.get_session_auth_hash()
    session.create()
    keys.append(session.session_key)
print(json.dumps(keys))
"""

# (g) joins a room with a full history (50 messages), whatever ran before.
HISTORY_CODE = """
from django.contrib.auth import get_user_model
from chat.models import Message, Room
room = Room.objects.get(slug="lobby")
author = get_user_model().objects.filter(username__startswith="9").first()
missing = max(0, 50 - Message.objects.filter(room=room).count())
Message.objects.bulk_create(
    [Message(room=room, author=author, text=f"earlier {n}") for n in range(missing)]
)
print(missing)
"""


_static_root: list[str] = []


def static_root() -> str:
    """Return a folder of collected static files (hashed names, as with
    DEBUG off in production), collected once per benchmark run."""
    if not _static_root:
        root = tempfile.mkdtemp(prefix="pairup-bench-static-")
        env = {
            **os.environ,
            "DJANGO_DEBUG": "False",
            "DJANGO_SECRET_KEY": "bench-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz",
            "DJANGO_STATIC_ROOT": root,
        }
        env.pop("DJANGO_SETTINGS_MODULE", None)
        manage(env, "collectstatic", "--noinput", "-v", "0")
        _static_root.append(root)
    return _static_root[0]


class Server:
    def __init__(self, workdir: Path, app: str, extra_env: dict, name: str = ""):
        self.env = {
            **os.environ,
            "DJANGO_STATIC_ROOT": static_root(),
            "DATABASE_URL": f"sqlite:///{workdir / 'bench.sqlite3'}",
            "DJANGO_DEBUG": "False",
            "DJANGO_SECRET_KEY": "bench-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz",
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "PAIRUP_CHAT_RATE": "off",
            "PYTHONUNBUFFERED": "1",
        }
        self.env.pop("DJANGO_SETTINGS_MODULE", None)
        self.env.pop("REDIS_URL", None)  # one process: the in-memory layer
        self.env.update(extra_env)
        self.port = free_port()
        self.log_path = workdir / f"daphne-{name or self.port}.log"
        self.log = self.log_path.open("w")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "daphne",
                "-b",
                "127.0.0.1",
                "-p",
                str(self.port),
                app,
            ],
            cwd=BASE_DIR,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"daphne did not start ({app})") from None
                time.sleep(0.1)

    def rss_mb(self) -> float:
        """Return the daphne process's resident memory (VmRSS), in MB."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        kb = int(re.search(r"VmRSS:\s+(\d+) kB", status)[1])
        return round(kb / 1024, 1)

    def stats(self) -> dict:
        """Return the last `chat-stats` counters the process printed."""
        lines = [
            line
            for line in self.log_path.read_text().splitlines()
            if line.startswith("chat-stats ")
        ]
        if not lines:
            return {}
        return {
            key: int(value)
            for key, value in (field.split("=") for field in lines[-1].split()[1:])
        }

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


def manage(env: dict, *args: str) -> str:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=600,
    ).stdout


# The load client ------------------------------------------------------------


class Stats:
    def __init__(self, expected_each: int = 0):
        self.expected_each = expected_each
        self.latencies_ns: list[int] = []
        self.errors = 0
        self.presence = 0
        self.status = 0
        self.history_sizes: set[int] = set()  # messages per history frame
        self.closes: list[int] = []
        self.first_send = 0
        self.last_delivery = 0
        self.last_frame = time.monotonic()
        self.waiting = 0
        self.all_done: asyncio.Future | None = None


def frame_bytes(text: str | bytes, opcode: int = 0x1) -> bytes:
    """Return a client frame masked with a zero key (payload unchanged)."""
    data = text.encode() if isinstance(text, str) else text
    size = len(data)
    if size < 126:
        header = bytes([0x80 | opcode, 0x80 | size])
    elif size < 65536:
        header = bytes([0x80 | opcode, 0x80 | 126]) + size.to_bytes(2, "big")
    else:
        header = bytes([0x80 | opcode, 0x80 | 127]) + size.to_bytes(8, "big")
    return header + b"\0\0\0\0" + data


CLOSE_FRAME = bytes([0x88, 0x82, 0, 0, 0, 0]) + (1000).to_bytes(2, "big")


class Client(asyncio.Protocol):
    """A WebSocket client that counts frames in its receive buffer."""

    def __init__(self, stats: Stats, request: bytes):
        self.stats = stats
        self.request = request
        self.buffer = bytearray()
        self.opened = asyncio.get_running_loop().create_future()
        self.transport = None
        self.got = 0
        self.joined = False  # history and presence received

    def connection_made(self, transport):
        self.transport = transport
        transport.write(self.request)

    def connection_lost(self, exc):
        if not self.opened.done():
            self.opened.set_exception(ConnectionError("closed before the upgrade"))

    def send(self, text: str) -> None:
        self.transport.write(frame_bytes(text))

    def close(self) -> None:
        if self.transport and not self.transport.is_closing():
            self.transport.write(CLOSE_FRAME)
            self.transport.close()

    def data_received(self, data):
        buffer = self.buffer
        buffer += data
        if not self.opened.done():
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            status = bytes(buffer[: buffer.find(b"\r\n")])
            del buffer[: end + 4]
            if b" 101 " not in status:
                self.opened.set_exception(ConnectionError(status.decode()))
                self.transport.close()
                return
            self.opened.set_result(None)
        stats = self.stats
        stats.last_frame = time.monotonic()
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
                self.frame(buffer, start, end)
            elif opcode == 0x8:
                stats.closes.append(int.from_bytes(buffer[start : start + 2], "big"))
            elif opcode == 0x9:  # daphne's keep-alive ping
                self.transport.write(frame_bytes(bytes(buffer[start:end]), 0xA))
            pos = end
        del buffer[:pos]

    def frame(self, buffer: bytearray, start: int, end: int) -> None:
        stats = self.stats
        if buffer.startswith(b'{"type":"history"', start):
            # Earlier runs' messages: counted, not deliveries.
            stats.history_sizes.add(buffer.count(b'{"type":"message"', start, end))
            return
        match = MARK.search(buffer, start, end)
        if match is None:
            if buffer.startswith(b'{"type":"presence"', start):
                stats.presence += 1
                if not self.joined:
                    self.joined = True
                    stats.waiting -= 1
                    if stats.waiting == 0 and stats.all_done:
                        stats.all_done.set_result(None)
            elif buffer.startswith(b'{"type":"status"', start):
                stats.status += 1
            elif buffer.find(b'"type":"error"', start, end) >= 0:
                stats.errors += 1
            return
        now = time.perf_counter_ns()
        stats.latencies_ns.append(now - int(match[3]))
        stats.last_delivery = now
        self.got += 1
        if self.got == stats.expected_each:
            stats.waiting -= 1
            if stats.waiting == 0 and stats.all_done:
                stats.all_done.set_result(None)


def upgrade_request(url: str, cookie: str | None) -> tuple[str, int, bytes]:
    host, port, path = re.fullmatch(r"ws://([^:/]+):(\d+)(/.*)", url).groups()
    lines = [
        f"GET {path} HTTP/1.1",
        f"Host: {host}:{port}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Version: 13",
        f"Origin: http://{host}:{port}",  # same origin: scheme, host and port
    ]
    if cookie:
        lines.append(f"Cookie: sessionid={cookie}")
    return host, int(port), ("\r\n".join(lines) + "\r\n\r\n").encode()


async def open_clients(urls: list[str], cookies: list, stats: Stats, chunk=50):
    """Connect one client per cookie, spreading them over `urls` in turn."""
    loop = asyncio.get_running_loop()

    async def one(index, cookie):
        host, port, request = upgrade_request(urls[index % len(urls)], cookie)
        _transport, client = await loop.create_connection(
            lambda: Client(stats, request), host, port
        )
        await client.opened
        return client

    clients = []
    for start in range(0, len(cookies), chunk):  # don't stampede the handshake
        clients += await asyncio.gather(
            *(one(start + n, c) for n, c in enumerate(cookies[start : start + chunk]))
        )
    return clients


async def quiet(stats: Stats, seconds: float = 0.3, limit: float = 30) -> None:
    """Wait until no frame has arrived for `seconds` (history, status...)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        idle = time.monotonic() - stats.last_frame
        if idle >= seconds:
            return
        await asyncio.sleep(seconds - idle)


def payload(kind: str, sender: int, seq: int) -> str:
    text = f"B|{sender}|{seq}|{time.perf_counter_ns()}|E"
    if kind == "pairup":
        return f'{{"type":"message","text":"{text}"}}'
    return f'{{"text":"{text}"}}'


async def close_all(clients) -> None:
    for client in clients:
        client.close()
    await asyncio.sleep(1.0)  # let the server run its disconnects


async def scenario(
    urls, cookies, kind, senders, per_sender, rate=None, on_ready=None, on_done=None
):
    """Run one load; return a result dict.

    `on_ready` runs once every client has settled, `on_done` once the load
    is delivered (or timed out), before the clients close.
    """
    stats = Stats()
    clients = await open_clients(urls, cookies, stats)
    await quiet(stats)
    if on_ready:
        on_ready()
    stats.expected_each = senders * per_sender
    stats.waiting = len(clients)
    stats.all_done = asyncio.get_running_loop().create_future()

    async def send_paced(client, sender):
        start = time.perf_counter()
        for seq in range(per_sender):
            client.send(payload(kind, sender, seq))
            delay = start + (seq + 1) / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)

    stats.first_send = time.perf_counter_ns()
    if rate:
        await asyncio.gather(*(send_paced(clients[i], i) for i in range(senders)))
    else:  # the burst: every message written at once, in one loop turn
        for seq in range(per_sender):
            for sender in range(senders):
                clients[sender].send(payload(kind, sender, seq))
    # What is missing then is lost. The wait allows 2,000 deliveries/s on top
    # of 30 s, so even the slow baseline finishes its burst.
    wait = 30 + per_sender / 2 + stats.expected_each * len(clients) / 2000
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stats.all_done, timeout=wait)
    if on_done:
        on_done()
    await close_all(clients)
    expected = stats.expected_each * len(clients)
    delivered = len(stats.latencies_ns)
    elapsed = max(stats.last_delivery - stats.first_send, 1) / 1e9
    lat = sorted(stats.latencies_ns)
    return {
        "clients": len(clients),
        "messages": stats.expected_each,
        "expected": expected,
        "delivered": delivered,
        "lost": expected - delivered,
        "errors": stats.errors,
        "closed": len(stats.closes),
        "deliveries_per_s": round(delivered / elapsed),
        "p50_ms": round(lat[len(lat) // 2] / 1e6, 1) if lat else None,
        "p99_ms": round(lat[min(len(lat) - 1, int(len(lat) * 0.99))] / 1e6, 1)
        if lat
        else None,
    }


async def idle_join(url, cookies, server: Server):
    """Connect every client at once-ish; time until all have joined."""
    stats = Stats()
    stats.waiting = len(cookies)
    stats.all_done = asyncio.get_running_loop().create_future()
    rss_before = server.rss_mb()
    start = time.monotonic()
    clients = await open_clients([url], cookies, stats, chunk=100)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stats.all_done, timeout=60)
    joined_s = time.monotonic() - start
    joined = len(cookies) - stats.waiting
    await quiet(stats, 1.0, limit=60)
    await asyncio.sleep(1.0)
    result = {
        "clients": len(clients),
        "joined": joined,
        "join_s": round(joined_s, 2),
        "presence_frames": stats.presence,
        "presence_per_client": round(stats.presence / max(len(clients), 1), 1),
        "status_frames": stats.status,
        "history_messages": sorted(stats.history_sizes),
        "rss_before_mb": rss_before,
        "rss_mb": server.rss_mb(),
        "closed": len(stats.closes),
    }
    await close_all(clients)
    return result


# Main ---------------------------------------------------------------------


def summary(runs: list[dict]) -> str:
    rates = [r["deliveries_per_s"] for r in runs]
    p50 = statistics.median(r["p50_ms"] or 0 for r in runs)
    p99 = statistics.median(r["p99_ms"] or 0 for r in runs)
    lost = sum(r["lost"] for r in runs)
    return (
        f"{min(rates):>8} {statistics.median(rates):>8g} {max(rates):>8} "
        f"{p50:>7g} {p99:>7g} {max(r['p99_ms'] or 0 for r in runs):>7g} "
        f"{lost:>5} {sum(r['errors'] for r in runs):>4}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--senders", type=int, default=5)
    parser.add_argument("--rate", type=float, default=20, help="messages/s per sender")
    parser.add_argument("--duration", type=float, default=5, help="seconds, paced")
    parser.add_argument("--burst", type=int, default=20, help="messages per sender")
    parser.add_argument("--big-clients", type=int, default=200)
    parser.add_argument("--big-senders", type=int, default=50)
    parser.add_argument("--idle", type=int, default=1000, help="sockets in (g)")
    parser.add_argument("--redis", default=os.environ.get("REDIS_URL", ""))
    parser.add_argument(
        "--database-url",
        default="",
        help="a scratch database for the Pair-Up servers, EMPTIED first "
        "(e.g. postgres://...); default: a new SQLite file",
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", default="abcdefgh", help="scenario letters")
    args = parser.parse_args()
    only = set(args.only.replace(",", ""))
    if not args.redis:
        only.discard("h")

    print("Pair-Up chat load benchmark")
    print(f"machine: {platform.node()}, {os.cpu_count()} CPUs, {platform.platform()}")
    print(f"python {platform.python_version()}; client and servers share the machine")
    print(
        "database:",
        args.database_url.split("://")[0] if args.database_url else "sqlite (WAL)",
    )
    print(
        "Rate limit: OFF for this run (PAIRUP_CHAT_RATE=off), so no message is refused"
    )
    results: dict[str, list[dict]] = {key: [] for key in "abcdefh"}
    idle: list[dict] = []
    counters: list[dict] = []
    paced_count = max(1, int(args.rate * args.duration))
    burst = [None] * args.clients
    big = [None] * args.big_clients
    with tempfile.TemporaryDirectory(prefix="pairup-bench-") as tmp:
        workdir = Path(tmp)
        users = max(args.clients, args.big_clients, args.idle)
        database = {"DATABASE_URL": args.database_url} if args.database_url else {}
        server = Server(workdir, "pairup.asgi:application", database, "pairup")
        sent = 0
        try:
            manage(server.env, "migrate", "--noinput", "-v", "0")
            if args.database_url:
                manage(server.env, "flush", "--noinput", "-v", "0")
            code = SETUP_CODE.replace("COUNT", str(users))
            keys = json.loads(manage(server.env, "shell", "--no-imports", "-c", code))
            urls = [f"ws://127.0.0.1:{server.port}/ws/chat/lobby/"]
            for _ in range(args.runs):
                if "a" in only:
                    result = asyncio.run(
                        scenario(
                            urls,
                            keys[: args.clients],
                            "pairup",
                            args.senders,
                            paced_count,
                            args.rate,
                        )
                    )
                    results["a"].append(result)
                    sent += args.senders * paced_count
                if "b" in only:
                    result = asyncio.run(
                        scenario(
                            urls,
                            keys[: args.clients],
                            "pairup",
                            args.clients,
                            args.burst,
                        )
                    )
                    results["b"].append(result)
                    sent += args.clients * args.burst
                if "e" in only:
                    result = asyncio.run(
                        scenario(
                            urls,
                            keys[: args.big_clients],
                            "pairup",
                            args.big_senders,
                            args.burst,
                        )
                    )
                    results["e"].append(result)
                    sent += args.big_senders * args.burst
        finally:
            server.stop()

        for key, app, env, name in (
            (
                "c",
                "bench.chat_load:baseline_app",
                {"PAIRUP_BENCH_BASELINE": "1"},
                "tut",
            ),
            ("d", "bench.chat_load:bare_app", {}, "bare"),
        ):
            wanted = {"c", "f"} if key == "c" else {key}
            if not wanted & only:
                continue
            other = Server(workdir, app, env, name)
            urls = [f"ws://127.0.0.1:{other.port}/ws/bench/"]
            try:
                for _ in range(args.runs):
                    if key in only:
                        results[key].append(
                            asyncio.run(
                                scenario(
                                    urls, burst, "baseline", args.clients, args.burst
                                )
                            )
                        )
                    if key == "c" and "f" in only:
                        results["f"].append(
                            asyncio.run(
                                scenario(
                                    urls, big, "baseline", args.big_senders, args.burst
                                )
                            )
                        )
            finally:
                other.stop()

        if "g" in only:
            sent += int(manage(server.env, "shell", "--no-imports", "-c", HISTORY_CODE))
            for run in range(args.runs):
                fresh = Server(
                    workdir, "pairup.asgi:application", database, f"idle{run}"
                )
                try:
                    url = f"ws://127.0.0.1:{fresh.port}/ws/chat/lobby/"
                    idle.append(asyncio.run(idle_join(url, keys[: args.idle], fresh)))
                finally:
                    fresh.stop()

        if "h" in only:
            env = {"REDIS_URL": args.redis, "PAIRUP_CHAT_STATS": "0.2"}
            pair = [
                Server(
                    workdir, "pairup.asgi:application", {**database, **env}, f"redis{n}"
                )
                for n in (1, 2)
            ]
            try:
                urls = [f"ws://127.0.0.1:{s.port}/ws/chat/lobby/" for s in pair]
                for _ in range(args.runs):
                    before: list[dict] = []
                    after: list[dict] = []

                    def snapshot(into):
                        time.sleep(0.5)  # a stats line per 0.2 s
                        into.extend(s.stats() for s in pair)

                    result = asyncio.run(
                        scenario(
                            urls,
                            keys[: args.clients],
                            "pairup",
                            args.clients,
                            args.burst,
                            on_ready=partial(snapshot, before),
                            on_done=partial(snapshot, after),
                        )
                    )
                    delta = [
                        {k: a[k] - b.get(k, 0) for k in a if k != "pid"}
                        for a, b in zip(after, before, strict=True)
                    ]
                    result["layer_sends"] = sum(d["layer_sends"] for d in delta)
                    result["layer_messages"] = sum(d["layer_messages"] for d in delta)
                    result["per_process"] = delta
                    counters.append(delta)
                    results["h"].append(result)
                    sent += args.clients * args.burst
            finally:
                for s in pair:
                    s.stop()

        if sent:
            stored = int(
                manage(
                    server.env,
                    "shell",
                    "--no-imports",
                    "-c",
                    "from chat.models import Message; print(Message.objects.count())",
                ).strip()
            )
            print(f"messages stored by Pair-Up: {stored} of {sent} sent")

    titles = {
        "a": f"(a) Pair-Up paced: {args.clients} clients, {args.senders} x {args.rate:g}/s",
        "b": f"(b) Pair-Up burst: {args.clients} x {args.burst}",
        "c": f"(c) tutorial consumer burst: {args.clients} x {args.burst}",
        "d": f"(d) bare ASGI broadcast burst: {args.clients} x {args.burst}",
        "e": f"(e) Pair-Up {args.big_clients} clients, {args.big_senders} x {args.burst}",
        "f": f"(f) tutorial {args.big_clients} clients, {args.big_senders} x {args.burst}",
        "h": f"(h) Pair-Up 2 processes on Redis: {args.clients} x {args.burst}",
    }
    print(f"\nruns per scenario: {args.runs}; deliveries/s min / median / max")
    print(
        f"{'scenario':46} {'min':>8} {'median':>8} {'max':>8} "
        f"{'p50ms':>7} {'p99ms':>7} {'p99max':>7} {'lost':>5} {'err':>4}"
    )
    medians = {}
    for key, runs in results.items():
        if runs:
            medians[key] = statistics.median(r["deliveries_per_s"] for r in runs)
            print(f"{titles[key]:46} {summary(runs)}")
    for ours, theirs, what in (
        ("b", "c", "burst vs tutorial (target >= 10x)"),
        ("b", "d", "burst vs bare ASGI (target >= 0.8x)"),
        ("e", "f", "200-client room vs tutorial (target >= 20x)"),
        ("h", "c", "2 processes on Redis vs tutorial"),
    ):
        if ours in medians and theirs in medians:
            print(f"{what}: {medians[ours] / medians[theirs]:.2f}x (medians)")
    if idle:
        times = sorted(run["join_s"] for run in idle)
        middle = idle[
            [run["join_s"] for run in idle].index(statistics.median_low(times))
        ]
        print(
            f"(g) {middle['clients']} idle sockets joining one room, seconds until "
            f"every one had history and presence, min / median / max: "
            f"{times[0]} / {statistics.median(times)} / {times[-1]}"
        )
        print(
            f"    median run: {middle['joined']} joined; history "
            f"{middle['history_messages']} messages each; presence frames "
            f"{middle['presence_frames']} ({middle['presence_per_client']} per "
            f"socket); status frames {middle['status_frames']}; closed "
            f"{middle['closed']}; daphne RSS {middle['rss_before_mb']} MB empty, "
            f"{middle['rss_mb']} MB with the sockets open"
        )
    for n, delta in enumerate(counters, 1):
        sends = sum(d["layer_sends"] for d in delta)
        received = sum(d["layer_messages"] for d in delta)
        print(
            f"(h) run {n}: room-group layer messages sent {sends}, received "
            f"{received} over {len(delta)} processes = {received / max(sends, 1):.2f} "
            f"per send, one per other process ({args.clients} listeners); frames "
            f"carried "
            f"{sum(d['frames'] for d in delta)}; per process {delta}"
        )
    print(json.dumps({"results": results, "idle": idle}))


if __name__ == "__main__":
    main()
