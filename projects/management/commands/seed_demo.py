from datetime import time, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from accounts.coordinators import coordinators_group_sync
from projects import services
from projects.models import BookingRecord, Invitation, Lab, Membership
from projects.selectors import bookable_labs

User = get_user_model()

DEMO_PASSWORD = "correct-horse-battery-staple"  # noqa: S105 (a published demo password)
COORDINATOR = ("coordinator", "Casey", "Coordinator")
# (student number, first name, last name, preferred name)
STUDENTS = [
    ("10000001", "Alice", "Able", ""),
    ("10000002", "Robert", "Baker", "Bob"),
    ("10000003", "Charlie", "Clark", ""),
    ("10000004", "Dana", "Dune", ""),
    ("10000005", "Eve", "Evans", ""),
    ("10000006", "Frank", "Fisher", ""),
    ("10000007", "Grace", "Green", ""),
    ("10000008", "Heidi", "Hill", ""),
    ("10000009", "Ivan", "Irwin", ""),
    ("10000010", "Judy", "Jones", ""),
    ("10000011", "Mallory", "Moss", ""),
    ("10000012", "Niaj", "Nguyen", ""),
]
ROOMS = ["CSSE 2.01", "CSSE 2.02"]
DAYS = 3
# (members by index in STUDENTS, description, book a slot)
TEAMS = [
    ((0, 1), "Pair-Up itself, with live chat", True),
    ((2, 3), "A compiler for a tiny language", True),
    ((4, 5), "Route planner for campus", False),
]
# A solo project with a pending invitation shows both sides of consent.
SOLO_FOUNDER, SOLO_INVITEE = 6, 7


class Command(BaseCommand):
    help = (
        "Fill the database with demo data: lab slots in the coming days, "
        f"{len(STUDENTS)} students and a coordinator (all with the demo "
        "password), and a few teams made through the services. Idempotent: "
        "re-running adds only what is missing. Refuses to run with "
        "DJANGO_DEBUG=False unless given --force."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--force",
            action="store_true",
            help="run even with DJANGO_DEBUG=False (never on a real unit)",
        )
        parser.add_argument(
            "--url",
            help="the address the site is served at, for the sign-in hint "
            "(default: PAIRUP_SITE_URL)",
        )

    def handle(self, *args, **options):
        if not settings.DEBUG and not options["force"]:
            raise CommandError(
                "seed_demo adds demo accounts with a published password, so it "
                "refuses to run with DJANGO_DEBUG=False. Use --force if this "
                "really is a demo database."
            )
        site_url = (options["url"] or settings.PAIRUP_SITE_URL).rstrip("/")
        if not site_url.startswith(("http://", "https://")):
            raise CommandError(
                f"--url must start with http:// or https://, got {options['url']!r}"
            )
        # One hash for every demo account keeps `make run` quick (a PBKDF2 hash
        # costs about a quarter of a second); these accounts are demo only.
        password_hash = make_password(DEMO_PASSWORD)
        coordinator = self._coordinator(password_hash)
        students = self._students(password_hash)
        created_labs = self._labs()
        teams = self._teams(coordinator, students)
        self._report(coordinator, students, created_labs, teams, site_url)

    def _coordinator(self, password_hash: str):
        username, first, last = COORDINATOR
        user, created = User.objects.get_or_create(
            username=username,
            defaults={
                "first_name": first,
                "last_name": last,
                "email": f"{username}@staff.example.edu",
                "is_staff": True,
                "password": password_hash,
            },
        )
        if not created and not user.is_staff:
            raise CommandError(
                f"A non-staff user {username!r} exists; remove it or run "
                "seed_demo on a fresh database."
            )
        user.groups.add(coordinators_group_sync())
        return user

    def _students(self, password_hash: str) -> list:
        existing = {
            user.username: user
            for user in User.objects.filter(username__in=[s[0] for s in STUDENTS])
        }
        new = [
            User(
                username=number,
                first_name=first,
                last_name=last,
                preferred_name=preferred,
                email=f"{number}@student.example.edu",
                password=password_hash,
            )
            for number, first, last, preferred in STUDENTS
            if number not in existing
        ]
        User.objects.bulk_create(new)
        self.created_students = len(new)
        by_number = {
            user.username: user
            for user in User.objects.filter(username__in=[s[0] for s in STUDENTS])
        }
        return [by_number[number] for number, *_ in STUDENTS]

    def _labs(self) -> int:
        created = 0
        today = timezone.localdate()
        for offset in range(1, DAYS + 1):
            day = today + timedelta(days=offset)
            for room in ROOMS:
                series = services.labs_create(
                    room=room, day=day, start=time(10, 0), end=time(12, 0), every=15
                )
                created += len(series.created)
                for warning in series.warnings:
                    self.stderr.write(self.style.WARNING(f"Warning: {warning}"))
        return created

    @transaction.atomic
    def _teams(self, coordinator, students) -> int:
        made = 0
        for indexes, description, book in TEAMS:
            members = [students[i] for i in indexes]
            if Membership.objects.filter(user__in=members).exists():
                continue
            try:
                # All or nothing: a step refused (e.g. PAIRUP_TEAM_SIZE=1)
                # must not leave the founder holding a half-made team.
                with transaction.atomic():
                    project = services.project_create(
                        user=members[0], description=description
                    )
                    for member in members[1:]:
                        invitation = services.invitation_send(
                            user=members[0],
                            project=project,
                            invitee_number=member.username,
                        )
                        services.invitation_accept(user=member, invitation=invitation)
                    if book:
                        lab = bookable_labs().order_by("start", "room").first()
                        if lab is not None:
                            services.lab_book(
                                user=coordinator,
                                project=project,
                                lab=lab,
                                via=BookingRecord.Via.COMMAND,
                            )
            except ValidationError as error:
                self.stderr.write(
                    self.style.WARNING(
                        f"Skipped the team of {members[0].username}: "
                        + " ".join(error.messages)
                    )
                )
                continue
            made += 1
        founder, invitee = students[SOLO_FOUNDER], students[SOLO_INVITEE]
        if not Membership.objects.filter(user__in=[founder, invitee]).exists():
            try:
                services.project_create(
                    user=founder,
                    description="Looking for a partner",
                    partner_number=invitee.username,
                )
                made += 1
            except ValidationError as error:
                self.stderr.write(
                    self.style.WARNING(
                        "Skipped the solo project: " + " ".join(error.messages)
                    )
                )
        return made

    def _report(
        self, coordinator, students, created_labs: int, teams: int, site_url: str
    ) -> None:
        pending = Invitation.objects.filter(
            invitee__in=students, status=Invitation.Status.PENDING
        ).count()
        write = self.stdout.write
        write(self.style.SUCCESS("Demo data ready."))
        write(
            f"  {created_labs} lab slot(s) created in {', '.join(ROOMS)} "
            f"(10:00-12:00 local, the next {DAYS} days; {Lab.objects.count()} "
            "in all)"
        )
        write(
            f"  {self.created_students} student(s) created "
            f"({len(students)} demo students: {students[0].username} to "
            f"{students[-1].username})"
        )
        write(f"  {teams} team(s) created; {pending} pending invitation(s)")
        write("")
        write(f"Sign in at {site_url}/accounts/login/ with:")
        write(f"  coordinator: {coordinator.username} / {DEMO_PASSWORD} (also /admin/)")
        for student in students[:2]:
            write(
                f"  student {student.display_name}: {student.username} / "
                f"{DEMO_PASSWORD}"
            )
        write(f"  (every demo student has the password {DEMO_PASSWORD})")
