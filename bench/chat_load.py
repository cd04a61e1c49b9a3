"""Chat load benchmark (not a test): deliveries/s, latency and loss.

    .venv/bin/python bench/chat_load.py [--clients 50] [--senders 5] [--rate 20]
        [--duration 5] [--burst 20] [--runs 1]

Starts daphne on a scratch SQLite database with PAIRUP_CHAT_RATE=off (a
refused message would count as lost), creates the users and their sessions
directly (no password hashing), connects the clients with an Origin header
and a session cookie, and reports for

  (a) paced: N clients, S senders at R messages/s each, in Pair-Up's lobby;
  (b) burst: N clients each sending B messages at once, in Pair-Up's lobby;
  (c) the same burst against a bare tutorial-style consumer this script
      carries (no storage, no checks, same channel layer settings).

A delivery is one message frame arriving at one client; every client,
sender included, should get every message. Lost = expected - delivered
within the wait (30 s + 0.5 s per message per sender, after the last send).
The same module is the baseline's ASGI app: `bench.chat_load:baseline_app`.
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
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
MARK = re.compile(rb"B\|(\d+)\|(\d+)\|(\d+)\|E")
ORIGIN = "http://127.0.0.1"


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


class Server:
    def __init__(self, workdir: Path, app: str, extra_env: dict):
        self.env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{workdir / 'bench.sqlite3'}",
            "DJANGO_DEBUG": "False",
            "DJANGO_SECRET_KEY": "bench-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz",
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "PAIRUP_CHAT_RATE": "off",
        }
        self.env.pop("DJANGO_SETTINGS_MODULE", None)
        self.env.pop("REDIS_URL", None)  # one process: the in-memory layer
        self.env.update(extra_env)
        self.port = free_port()
        self.log = (workdir / f"daphne-{self.port}.log").open("w")
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
        timeout=300,
    ).stdout


# Clients ------------------------------------------------------------------


class Stats:
    def __init__(self):
        self.latencies_ns: list[int] = []
        self.errors = 0
        self.first_send = 0
        self.last_delivery = 0


async def open_clients(url: str, cookies: list[str | None]):
    from websockets.asyncio.client import connect

    async def one(cookie):
        headers = [("Cookie", f"sessionid={cookie}")] if cookie else []
        client = await connect(
            url,
            origin=ORIGIN,
            additional_headers=headers,
            compression=None,
            max_queue=None,
            ping_interval=None,
        )
        return client

    clients = []
    for start in range(0, len(cookies), 50):  # don't stampede the handshake
        clients += await asyncio.gather(*(one(c) for c in cookies[start : start + 50]))
    return clients


async def reader(client, stats: Stats, expected: int, done: asyncio.Event):
    got = 0
    async for frame in client:
        data = frame.encode() if isinstance(frame, str) else frame
        match = MARK.search(data)
        if match is None:
            if b'"type":"error"' in data:
                stats.errors += 1
            continue
        now = time.perf_counter_ns()
        stats.latencies_ns.append(now - int(match[3]))
        stats.last_delivery = now
        got += 1
        if got >= expected:
            done.set()
            return


def payload(kind: str, sender: int, seq: int) -> str:
    text = f"B|{sender}|{seq}|{time.perf_counter_ns()}|E"
    return json.dumps(
        {"type": "message", "text": text} if kind == "pairup" else {"text": text}
    )


async def scenario(url, cookies, kind, senders, per_sender, rate=None, settle=0.5):
    """Run one load; return a result dict."""
    clients = await open_clients(url, cookies)
    await asyncio.sleep(settle)  # history, presence and status frames go by
    expected_each = senders * per_sender
    stats = Stats()
    events = [asyncio.Event() for _ in clients]
    readers = [
        asyncio.create_task(reader(c, stats, expected_each, e))
        for c, e in zip(clients, events, strict=True)
    ]

    async def send_paced(client, sender):
        start = time.perf_counter()
        for seq in range(per_sender):
            await client.send(payload(kind, sender, seq))
            delay = start + (seq + 1) / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)

    async def send_burst(client, sender):
        for seq in range(per_sender):
            await client.send(payload(kind, sender, seq))

    stats.first_send = time.perf_counter_ns()
    send = send_paced if rate else send_burst
    await asyncio.gather(*(send(clients[i], i) for i in range(senders)))
    with contextlib.suppress(TimeoutError):  # what is missing then is lost
        await asyncio.wait_for(
            asyncio.gather(*(e.wait() for e in events)), timeout=30 + per_sender / 2
        )
    for task in readers:
        task.cancel()
    await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)
    expected = expected_each * len(clients)
    delivered = len(stats.latencies_ns)
    elapsed = max(stats.last_delivery - stats.first_send, 1) / 1e9
    lat = sorted(stats.latencies_ns)
    return {
        "clients": len(clients),
        "messages": expected_each,
        "expected": expected,
        "delivered": delivered,
        "lost": expected - delivered,
        "errors": stats.errors,
        "deliveries_per_s": round(delivered / elapsed),
        "p50_ms": round(lat[len(lat) // 2] / 1e6, 1) if lat else None,
        "p99_ms": round(lat[min(len(lat) - 1, int(len(lat) * 0.99))] / 1e6, 1)
        if lat
        else None,
    }


# Main ---------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--senders", type=int, default=5)
    parser.add_argument("--rate", type=float, default=20, help="messages/s per sender")
    parser.add_argument("--duration", type=float, default=5, help="seconds, paced")
    parser.add_argument("--burst", type=int, default=20, help="messages per client")
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()

    print("Pair-Up chat load benchmark")
    print(f"machine: {platform.node()}, {os.cpu_count()} CPUs, {platform.platform()}")
    print(f"python {platform.python_version()}; one daphne process, in-memory layer")
    print(
        "Rate limit: OFF for this run (PAIRUP_CHAT_RATE=off), so no message is refused"
    )
    results: dict[str, list[dict]] = {"a": [], "b": [], "c": []}
    with tempfile.TemporaryDirectory(prefix="pairup-bench-") as tmp:
        workdir = Path(tmp)
        server = Server(workdir, "pairup.asgi:application", {})
        try:
            manage(server.env, "migrate", "--noinput", "-v", "0")
            keys = json.loads(
                manage(
                    server.env,
                    "shell",
                    "--no-imports",
                    "-c",
                    SETUP_CODE.replace("COUNT", str(args.clients)),
                ).strip()
            )
            url = f"ws://127.0.0.1:{server.port}/ws/chat/lobby/"
            paced_count = max(1, int(args.rate * args.duration))
            for _ in range(args.runs):
                results["a"].append(
                    asyncio.run(
                        scenario(
                            url, keys, "pairup", args.senders, paced_count, args.rate
                        )
                    )
                )
                results["b"].append(
                    asyncio.run(scenario(url, keys, "pairup", args.clients, args.burst))
                )
            stored = manage(
                server.env,
                "shell",
                "--no-imports",
                "-c",
                "from chat.models import Message; print(Message.objects.count())",
            ).strip()
        finally:
            server.stop()
        baseline = Server(
            workdir, "bench.chat_load:baseline_app", {"PAIRUP_BENCH_BASELINE": "1"}
        )
        try:
            url = f"ws://127.0.0.1:{baseline.port}/ws/bench/"
            for _ in range(args.runs):
                results["c"].append(
                    asyncio.run(
                        scenario(
                            url,
                            [None] * args.clients,
                            "baseline",
                            args.clients,
                            args.burst,
                        )
                    )
                )
        finally:
            baseline.stop()

    sent = args.runs * (args.senders * paced_count + args.clients * args.burst)
    print(f"messages stored by Pair-Up: {stored} of {sent} sent")
    titles = {
        "a": f"(a) Pair-Up paced: {args.clients} clients, {args.senders} senders x {args.rate:g}/s",
        "b": f"(b) Pair-Up burst: {args.clients} clients x {args.burst} messages",
        "c": f"(c) tutorial consumer burst: {args.clients} clients x {args.burst} messages",
    }
    print(
        f"{'scenario':58} {'deliv/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'lost':>6} {'err':>4}"
    )
    for key, runs in results.items():
        for run in runs:
            print(
                f"{titles[key]:58} {run['deliveries_per_s']:>8} {run['p50_ms']!s:>8} "
                f"{run['p99_ms']!s:>8} {run['lost']:>6} {run['errors']:>4}"
            )
        if len(runs) > 1:
            rates = [r["deliveries_per_s"] for r in runs]
            print(
                f"{'':58} min {min(rates)} / median {statistics.median(rates):g} / max {max(rates)}"
            )
    print(json.dumps(results))


if __name__ == "__main__":
    main()
