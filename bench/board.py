"""Benchmark the lab board, the dashboard and the coordinator overview at
unit scale, and a 50-team race for one slot. Not a test.

    .venv/bin/python bench/board.py [--rounds 20] [--racers 50] [--slots 1000] [--keep]

Seeds a scratch SQLite database (never the project's own) with 1,000 slots,
2,000 students and 900 teams using bulk_create, then reports the median
server time of `/labs/`, `/` (the dashboard) and `/coordinator/` (with its
live parts and the pairing and placement previews) through
django.test.Client (force_login, so no password hashing), and how long 50
concurrent teams take to settle a race for one slot through the real
booking view, with the count of winners.
"""

import argparse
import os
import platform
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
SLOTS, STUDENTS, TEAMS, FULL_TEAMS, BOOKED_TEAMS = 1000, 2000, 900, 700, 600
ROOMS = 10


def configure(database_url: str) -> None:
    sys.path.insert(0, str(BASE_DIR))
    os.environ["DATABASE_URL"] = database_url
    os.environ["DJANGO_DEBUG"] = "False"
    os.environ.setdefault(
        "DJANGO_SECRET_KEY", "bench-only-secret-key-0123456789-abcdefghijklmnopqrstuv"
    )
    os.environ["DJANGO_ALLOWED_HOSTS"] = "testserver,127.0.0.1,localhost"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pairup.settings")
    # DEBUG off names hashed static files, as in production: collect them.
    os.environ["DJANGO_STATIC_ROOT"] = tempfile.mkdtemp(prefix="pairup-bench-static-")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("collectstatic", interactive=False, verbosity=0)


def database_label() -> str:
    from django.db import connection

    if connection.vendor == "sqlite":
        return f"SQLite {sqlite3.sqlite_version} (WAL, immediate transactions)"
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        return f"PostgreSQL {cursor.fetchone()[0]}"


def seed() -> dict:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.core.management import call_command
    from django.db import transaction

    from accounts.models import COORDINATORS_GROUP
    from projects.models import BookingWindow, Invitation, Lab, Membership, Project

    User = get_user_model()
    call_command("migrate", verbosity=0)
    if Lab.objects.exists() or User.objects.exists():
        raise SystemExit("The benchmark needs an empty scratch database.")
    started = time.perf_counter()
    with transaction.atomic():
        BookingWindow.get()
        # Slots: 10 rooms, 10 slots a day each, over 10 days from tomorrow.
        base = (datetime.now(UTC) + timedelta(days=1)).replace(
            hour=1, minute=0, second=0, microsecond=0
        )
        labs = []
        for n in range(SLOTS):
            room, rest = divmod(n, max(SLOTS // ROOMS, 1))
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
                username=f"{40000000 + n:08d}",
                first_name=f"First{n}",
                last_name=f"Last{n:04d}",
                email=f"{40000000 + n}@student.example.edu",
                password="!bench",  # unusable: sessions come from force_login
                looking_for_partner=n % 7 == 0,
            )
            for n in range(STUDENTS)
        )
        coordinator = User.objects.create(
            username="bench-coordinator", is_staff=True, password="!bench"
        )
        coordinator.groups.add(Group.objects.get(name=COORDINATORS_GROUP))
        projects = Project.objects.bulk_create(
            Project(
                description=f"Bench project {n}",
                lab=labs[n] if n < BOOKED_TEAMS else None,
            )
            for n in range(TEAMS)
        )
        memberships, cursor = [], 0
        for n, project in enumerate(projects):
            size = 2 if n < FULL_TEAMS else 1
            for _ in range(size):
                memberships.append(Membership(user=students[cursor], project=project))
                cursor += 1
        Membership.objects.bulk_create(memberships)
        free = students[cursor:]
        solo = projects[FULL_TEAMS:]
        Invitation.objects.bulk_create(
            Invitation(
                project=project,
                project_number=project.pk,
                inviter=project_first,
                invitee=invitee,
            )
            for project, project_first, invitee in zip(
                solo,
                [m.user for m in memberships[FULL_TEAMS * 2 :]],
                free,
                strict=False,
            )
        )
    return {
        "seconds": time.perf_counter() - started,
        "labs": labs,
        "students": students,
        "coordinator": coordinator,
        "projects": projects,
        "free": free,
    }


def median_ms(client, url: str, rounds: int) -> tuple[float, float, int, int]:
    """Return (median ms, median CPU ms, status, queries) of GET url over
    `rounds` requests. CPU time (this process's) is steadier than wall time
    on a machine other people share."""
    from django.db import connection

    queries = []
    # Counted with a wrapper: Django clears connection.queries per request.
    with connection.execute_wrapper(
        lambda execute, sql, params, many, context: (
            queries.append(sql),
            execute(sql, params, many, context),
        )[1]
    ):
        response = client.get(url)  # warm-up, and the query count
    timings, cpu = [], []
    for _ in range(rounds):
        started, started_cpu = time.perf_counter(), time.process_time()
        response = client.get(url)
        timings.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    return (
        statistics.median(timings),
        statistics.median(cpu),
        response.status_code,
        len(queries),
    )


def race(data: dict, racers: int) -> dict:
    """`racers` solo teams POST /labs/<id>/book/ for one free slot at once."""
    from django.db import connection
    from django.test import Client
    from django.urls import reverse

    from projects.models import BookingRecord, Lab, Project

    lab = Lab.objects.filter(project__isnull=True).order_by("start").last()
    teams = list(
        Project.objects.filter(lab__isnull=True)
        .prefetch_related("memberships__user")
        .order_by("pk")[:racers]
    )
    clients = []
    for team in teams:
        client = Client()
        client.force_login(team.memberships.all()[0].user)
        # A server builds its middleware once, at start; the test client on
        # its first request. Build it here, or each racer scans the static
        # files for WhiteNoise inside the race (4/5 of its time).
        client.handler.load_middleware()
        clients.append(client)
    url = reverse("projects:lab_book", args=[lab.pk])
    barrier = threading.Barrier(len(clients) + 1)
    statuses, errors = [], []
    lock = threading.Lock()

    def run(client):
        try:
            barrier.wait()
            response = client.post(url)
            with lock:
                statuses.append(response.status_code)
        except Exception as error:
            with lock:
                errors.append(repr(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    settled = time.perf_counter() - started
    return {
        "racers": len(clients),
        "seconds": settled,
        "winners": Project.objects.filter(lab=lab).count(),
        "records": BookingRecord.objects.filter(to_lab=lab).count(),
        "statuses": sorted(set(statuses)),
        "errors": errors,
    }


def main() -> None:
    global SLOTS, BOOKED_TEAMS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--racers", type=int, default=50)
    parser.add_argument(
        "--slots",
        type=int,
        default=SLOTS,
        help="upcoming slots (teams with a slot shrink to fit: 60%% of them)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the scratch DB")
    parser.add_argument(
        "--database-url",
        help="an EMPTY scratch database, e.g. postgres://u:p@127.0.0.1/bench "
        "(default: a new SQLite file in a temporary folder)",
    )
    args = parser.parse_args()
    SLOTS = args.slots
    BOOKED_TEAMS = min(BOOKED_TEAMS, SLOTS * 3 // 5)

    workdir = Path(tempfile.mkdtemp(prefix="pairup-bench-"))
    db_path = workdir / "bench.sqlite3"
    configure(args.database_url or f"sqlite:///{db_path}")
    import django
    from django.test import Client
    from django.urls import reverse

    print(
        f"Machine: {os.cpu_count()} CPU(s) (nproc), {platform.platform()}; "
        f"Python {platform.python_version()}, Django {django.get_version()}, "
        f"{database_label()}"
    )
    data = seed()
    print(
        f"Seeded {SLOTS} slots, {STUDENTS} students and {TEAMS} teams "
        f"({FULL_TEAMS} full, {TEAMS - FULL_TEAMS} solo, {BOOKED_TEAMS} with a "
        f"slot) in {data['seconds']:.2f} s"
    )

    student = data["projects"][0].memberships.all()[0].user
    as_student, as_coordinator = Client(), Client()
    as_student.force_login(student)
    as_coordinator.force_login(data["coordinator"])
    pages = [
        ("lab board /labs/", as_student, reverse("projects:lab_board")),
        ("dashboard /", as_student, reverse("home")),
        ("coordinator /coordinator/", as_coordinator, reverse("projects:coordinator")),
        (
            "  500 a page",
            as_coordinator,
            reverse("projects:coordinator") + "?per_page=500",
        ),
        ("  its live parts", as_coordinator, reverse("projects:coordinator_live")),
        (
            "  pairing preview (all)",
            as_coordinator,
            reverse("projects:coordinator_pairings") + "?scope=all",
        ),
        (
            "  placement preview",
            as_coordinator,
            reverse("projects:coordinator_placements"),
        ),
    ]
    print(f"Median server time over {args.rounds} requests (after one warm-up):")
    for label, client, url in pages:
        ms, cpu, status, queries = median_ms(client, url, args.rounds)
        print(
            f"  {label:<28} {ms:8.1f} ms  (CPU {cpu:.1f} ms; {queries} queries, "
            f"HTTP {status})"
        )

    result = race(data, args.racers)
    print(
        f"Race: {result['racers']} teams POST /labs/<id>/book/ for one slot: "
        f"settled in {result['seconds'] * 1000:.0f} ms; winners: "
        f"{result['winners']} (booking records: {result['records']}); HTTP "
        f"statuses {result['statuses']}; errors: {len(result['errors'])}"
    )
    for error in result["errors"][:5]:
        print(f"  error: {error}")
    if args.keep and not args.database_url:
        print(f"Scratch database kept: {db_path}")
    if not args.keep:
        for path in workdir.iterdir():
            path.unlink()
        workdir.rmdir()


if __name__ == "__main__":
    main()
