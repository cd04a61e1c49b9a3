"""Page load on two processes against PostgreSQL, by pool size (not a test).

    .venv/bin/python bench/pages_pool.py --database-url postgres://USER:PASS@HOST:PORT/DB
        [--redis redis://127.0.0.1:6379/0] [--pool-max 1,2,4,8,16]
        [--pages 600] [--clients 16] [--runs 3]

For each pool size, starts two daphne processes (DJANGO_DEBUG=False) on a
fresh database beside the one named (its role needs CREATEDB), seeds the
demo data, makes signed-in sessions for the 12 demo students directly, and
loads `/`, `/labs/` and `/chat/` --pages times from --clients concurrent
clients (client i on process i mod 2, one connection per request). Reports
pages/s, median and 99th-percentile latency, the statuses, and the most
client connections the database saw (pg_stat_activity, sampled every
100 ms: needs a role that may see other sessions, e.g. the database's owner
for its own). It says how PAIRUP_DB_POOL_MAX was chosen (README,
Configuration).
"""

import argparse
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

import os  # noqa: E402

from pairup.tests.faults.harness import (  # noqa: E402
    Postgres,
    Sampler,
    Servers,
    get,
    sessions,
)

PAGES = ["/", "/labs/", "/chat/"]
STUDENTS = [f"100000{n:02d}" for n in range(1, 13)]


def run(servers, cookies, *, pages: int, clients: int) -> dict:
    latencies: list[float] = []
    statuses: Counter = Counter()
    lock = threading.Lock()
    start = threading.Barrier(clients)

    def client(i):
        server = servers[i % len(servers)]
        cookie = cookies[i % len(cookies)]
        start.wait()
        for n in range(i, pages, clients):
            began = time.perf_counter()
            try:
                status, _, _ = get(server, PAGES[n % len(PAGES)], cookie=cookie)
            except OSError as error:
                status = type(error).__name__
            elapsed = time.perf_counter() - began
            with lock:
                latencies.append(elapsed)
                statuses[status] += 1

    began = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        for future in [pool.submit(client, i) for i in range(clients)]:
            future.result()
    wall = time.perf_counter() - began
    latencies.sort()
    return {
        "pages_per_s": pages / wall,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
        "statuses": dict(statuses),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--redis", default=os.environ.get("REDIS_URL", ""))
    parser.add_argument("--pool-max", default="1,2,4,8,16")
    parser.add_argument("--pages", type=int, default=600)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    os.environ["DATABASE_URL"] = args.database_url  # live servers' databases
    postgres = Postgres(admin_url=args.database_url, stop_command="", start_command="")

    print(
        f"{args.pages} pages ({', '.join(PAGES)}) from {args.clients} clients, "
        f"2 processes, {args.runs} runs; Redis {'on' if args.redis else 'off'}"
    )
    print(
        "| PAIRUP_DB_POOL_MAX | pages/s min / median / max | p50 | p99 | statuses | peak connections |"
    )
    print("| --- | --- | --- | --- | --- | --- |")
    for size in [int(n) for n in args.pool_max.split(",")]:
        with tempfile.TemporaryDirectory() as tmp:
            group = Servers(workdir=Path(tmp), redis_url=args.redis)
            try:
                one, two = group.start(2, PAIRUP_DB_POOL_MAX=str(size))
                one.manage("seed_demo", "--force")
                cookies = sessions(one, STUDENTS)
                run([one, two], cookies, pages=60, clients=args.clients)  # warm-up
                results = []
                with Sampler(postgres, group.database) as sampler:
                    for _ in range(args.runs):
                        results.append(
                            run(
                                [one, two],
                                cookies,
                                pages=args.pages,
                                clients=args.clients,
                            )
                        )
            finally:
                group.stop_all()
        rates = sorted(r["pages_per_s"] for r in results)
        statuses = sum((Counter(r["statuses"]) for r in results), Counter())
        print(
            f"| {size} | {rates[0]:.0f} / {statistics.median(rates):.0f} / "
            f"{rates[-1]:.0f} | {statistics.median(r['p50_ms'] for r in results):.0f} ms "
            f"| {statistics.median(r['p99_ms'] for r in results):.0f} ms "
            f"| {dict(statuses)} | {sampler.peak} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
