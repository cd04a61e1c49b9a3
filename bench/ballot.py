"""Benchmark the ballot's allocation: 1,000 teams ranking 10 of 1,000 slots.
Not a test.

    .venv/bin/python bench/ballot.py [--teams 1000] [--slots 1000] [--choices 10]
        [--runs 5] [--solver-only] [--compare] [--database-url postgres://...]

(a) The solver alone (`projects.allocation.allocate`, no Django) on rankings
    drawn two ways: every slot alike ("uniform"), and a few popular slots
    wanted by many ("popular": slot i is picked with weight 1/(i+1)^0.8, the
    way early and late-afternoon slots fill first). Median, min and max of
    `--runs` solves, with the teams placed, first choices and top 3.
    `--compare` times the same instances with scipy's dense
    `linear_sum_assignment` and, if installed, networkx's min-cost flow
    (`max_flow_min_cost`), and checks they place as many teams with the
    same total rank.
(b) Through the database (skipped with `--solver-only`): a scratch SQLite
    file (or the EMPTY database `--database-url` names) with the slots, one
    solo team per ballot and the popular rankings; then `ballot_dry_run`
    (load the rankings, solve, store the run) `--runs` times, and
    `ballot_run` once: every booking through the services, its record, its
    calendar event and reminders, and each team's notification.
"""

import argparse
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from projects.allocation import allocate  # noqa: E402 (no Django needed)

ROOMS = 10


def rankings(teams: int, slots: int, choices: int, *, popular: bool, seed: int):
    rng = random.Random(seed)
    weights = [1 / (i + 1) ** 0.8 if popular else 1.0 for i in range(slots)]
    ids = list(range(1, slots + 1))
    result = {}
    for team in range(1, teams + 1):
        chosen: list[int] = []
        while len(chosen) < choices:
            (slot,) = rng.choices(ids, weights)
            if slot not in chosen:
                chosen.append(slot)
        result[team] = chosen
    return result


def timed(function, runs: int):
    seconds, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = function()
        seconds.append(time.perf_counter() - started)
    return result, seconds


def spread(seconds: list[float]) -> str:
    ms = [s * 1000 for s in seconds]
    return (
        f"median {statistics.median(ms):.0f} ms (min {min(ms):.0f}, max {max(ms):.0f})"
    )


def dense(ranked: dict) -> tuple[int, int]:
    """scipy's dense linear_sum_assignment on the same costs (no tie-break)."""
    import numpy as np
    from scipy.optimize import linear_sum_assignment

    teams = sorted(ranked)
    slots = sorted({s for r in ranked.values() for s in r})
    column = {s: c for c, s in enumerate(slots)}
    n, m = len(teams), len(slots)
    big = max(len(r) for r in ranked.values()) * n + 1
    costs = np.full((n, m + n), np.inf)
    for i, team in enumerate(teams):
        for rank, slot in enumerate(ranked[team], 1):
            costs[i, column[slot]] = rank
        costs[i, m + i] = big
    rows, cols = linear_sum_assignment(costs)
    placed = [(i, c) for i, c in zip(rows, cols, strict=True) if c < m]
    return len(placed), int(sum(costs[i, c] for i, c in placed))


def flow(ranked: dict) -> tuple[int, int]:
    """networkx's min-cost max-flow on the same graph (pure Python)."""
    import networkx as nx

    graph = nx.DiGraph()
    for team, ranking in ranked.items():
        graph.add_edge("source", ("team", team), capacity=1, weight=0)
        for rank, slot in enumerate(ranking, 1):
            graph.add_edge(("team", team), ("slot", slot), capacity=1, weight=rank)
    for slot in {s for r in ranked.values() for s in r}:
        graph.add_edge(("slot", slot), "sink", capacity=1, weight=0)
    flows = nx.max_flow_min_cost(graph, "source", "sink")
    placed = sum(flows["source"].values())
    total = sum(
        rank
        for team, ranking in ranked.items()
        for rank, slot in enumerate(ranking, 1)
        if flows[("team", team)].get(("slot", slot))
    )
    return placed, total


def solver(args) -> None:
    print(
        f"(a) The solver alone: {args.teams} teams ranking {args.choices} of "
        f"{args.slots} slots, {args.runs} runs each"
    )
    for popular in (False, True):
        ranked = rankings(
            args.teams, args.slots, args.choices, popular=popular, seed=args.seed
        )
        allocation, seconds = timed(lambda r=ranked: allocate(r, seed=7), args.runs)
        teams = len(ranked)
        print(
            f"  {'popular' if popular else 'uniform':<8} scipy sparse (Pair-Up): "
            f"{spread(seconds)}; placed {allocation.placed} of {teams}, first "
            f"choice {allocation.first_choices} "
            f"({100 * allocation.first_choices / teams:.0f}%), top 3 "
            f"{allocation.top_three} ({100 * allocation.top_three / teams:.0f}%), "
            f"total rank {allocation.total_rank}"
        )
        if not args.compare:
            continue
        mine = (allocation.placed, allocation.total_rank)
        for label, other in (("scipy dense", dense), ("networkx flow", flow)):
            try:
                result, seconds = timed(lambda r=ranked, f=other: f(r), args.runs)
            except ImportError as error:
                print(f"  {'':<8} {label}: not installed ({error.name})")
                continue
            same = (
                "same placed and total rank" if result == mine else f"DIFFERS {result}"
            )
            print(f"  {'':<8} {label}: {spread(seconds)}; {same}")


# (b) Through the database ----------------------------------------------------


def configure(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ["DJANGO_DEBUG"] = "False"
    os.environ.setdefault(
        "DJANGO_SECRET_KEY", "bench-only-secret-key-0123456789-abcdefghijklmnopqrstuv"
    )
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pairup.settings")
    import django

    django.setup()


def seed(args) -> None:
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import transaction

    from projects.models import (
        Ballot,
        BallotChoice,
        BookingWindow,
        Lab,
        Membership,
        Project,
    )

    User = get_user_model()
    call_command("migrate", verbosity=0)
    if Lab.objects.exists() or User.objects.exists():
        raise SystemExit("The benchmark needs an empty scratch database.")
    started = time.perf_counter()
    ranked = rankings(
        args.teams, args.slots, args.choices, popular=True, seed=args.seed
    )
    with transaction.atomic():
        base = (datetime.now(UTC) + timedelta(days=3)).replace(
            hour=1, minute=0, second=0, microsecond=0
        )
        labs = []
        per_room = max(args.slots // ROOMS, 1)
        for n in range(args.slots):
            room, rest = divmod(n, per_room)
            day, slot = divmod(rest, 10)
            start = base + timedelta(days=day, minutes=15 * slot)
            labs.append(
                Lab(
                    room=f"CSSE {room + 1:02d}",
                    start=start,
                    end=start + timedelta(minutes=15),
                )
            )
        labs = Lab.objects.bulk_create(labs)
        students = User.objects.bulk_create(
            User(
                username=f"{50000000 + n:08d}",
                first_name=f"First{n}",
                last_name=f"Last{n:04d}",
                email=f"{50000000 + n}@student.example.edu",
                password="!bench",
            )
            for n in range(args.teams)
        )
        projects = Project.objects.bulk_create(
            Project(description=f"Bench project {n}") for n in range(args.teams)
        )
        Membership.objects.bulk_create(
            Membership(user=student, project=project)
            for student, project in zip(students, projects, strict=True)
        )
        ballots = Ballot.objects.bulk_create(
            Ballot(project=project, saved_by=student)
            for student, project in zip(students, projects, strict=True)
        )
        BallotChoice.objects.bulk_create(
            BallotChoice(ballot=ballot, lab=labs[slot - 1], rank=rank)
            for ballot, team in zip(ballots, sorted(ranked), strict=True)
            for rank, slot in enumerate(ranked[team], 1)
        )
        now = datetime.now(UTC)
        BookingWindow.get()
        BookingWindow.objects.filter(pk=1).update(
            mode=BookingWindow.Mode.BALLOT,
            ballot_closes_at=now + timedelta(hours=1),
            opens_at=now + timedelta(hours=2),
        )
    print(
        f"Seeded {args.slots} slots and {args.teams} teams with {args.choices} "
        f"choices each (popular) in {time.perf_counter() - started:.1f} s"
    )


def database(args) -> None:
    from django.db import connection

    from projects import ballot_services
    from projects.models import BookingRecord, Project

    label = (
        "SQLite (WAL, immediate transactions)"
        if connection.vendor == "sqlite"
        else "PostgreSQL"
    )
    print(f"(b) Through the database ({label})")
    seed(args)
    dry, seconds = timed(ballot_services.ballot_dry_run, args.runs)
    print(
        f"  dry run (load the rankings, solve, store): {spread(seconds)}; the "
        f"solve itself {dry.solve_ms} ms; placed {dry.placed} of {dry.ranked}, "
        f"first choice {dry.first_choices}, top 3 {dry.top_three}"
    )
    started = time.perf_counter()
    run = ballot_services.ballot_run()
    total = time.perf_counter() - started
    booked = Project.objects.filter(lab__isnull=False)
    records = BookingRecord.objects.filter(via=BookingRecord.Via.BALLOT).count()
    print(
        f"  the run (solve, book {run.placed} teams through the services with "
        f"records, calendar events, reminders and notifications): {total:.1f} s; "
        f"same allocation as the dry run: {run.allocation == dry.allocation}; "
        f"booking records {records}; slots held twice "
        f"{booked.count() - len(set(booked.values_list('lab_id', flat=True)))}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--teams", type=int, default=1000)
    parser.add_argument("--slots", type=int, default=1000)
    parser.add_argument("--choices", type=int, default=10)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--solver-only", action="store_true")
    parser.add_argument("--compare", action="store_true")
    parser.add_argument("--database-url", help="an EMPTY scratch database")
    args = parser.parse_args()

    import numpy
    import scipy

    print(
        f"Machine: {os.cpu_count()} CPU(s), {platform.platform()}; Python "
        f"{platform.python_version()}, scipy {scipy.__version__}, numpy "
        f"{numpy.__version__}; load average {os.getloadavg()[0]:.1f}"
    )
    solver(args)
    if args.solver_only:
        return
    workdir = Path(tempfile.mkdtemp(prefix="pairup-bench-ballot-"))
    configure(args.database_url or f"sqlite:///{workdir / 'bench.sqlite3'}")
    try:
        database(args)
    finally:
        for path in workdir.iterdir():
            path.unlink()
        workdir.rmdir()
        print(f"Load average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
