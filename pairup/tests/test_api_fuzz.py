"""Property-based run of the whole API schema with Schemathesis.

Every operation gets generated requests (valid and invalid input), in-process
through Django's WSGI handler, signed in with a bearer token as a student
and as a coordinator. It fails on any 5xx, any status, content type or body
that the schema doesn't document, and any GET that changes the database.
The number of examples is kept small so the run stays well under a minute.
"""

import hashlib
import json

import pytest
import schemathesis
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.models import ApiToken, User
from accounts.tests.api_helpers import bearer
from accounts.tests.factories import CoordinatorFactory, StudentFactory
from chat.models import Message, Room
from chat.services import message_post, room_open
from notifications.models import CalendarFeed, EmailPreference, Notification
from projects import services
from projects.models import (
    Announcement,
    BallotChoice,
    BookingRecord,
    BookingWindow,
    Invitation,
    Lab,
    Project,
)
from projects.tests.factories import LabFactory, lab_starting_in, make_team

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def api_schema(db):
    """The schema as served, bound to Django's WSGI handler in this thread.

    Like Django's test client, keep the handler from closing the test's
    database connection at the end of each request.
    """
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi("/api/v1/openapi.json", WSGIHandler())
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@pytest.fixture
def unit(db):
    """A small unit: a full team with a slot, a solo project, invitations."""
    alice = StudentFactory(username="20000001", first_name="Alice")
    bob = StudentFactory(username="20000002", first_name="Bob")
    carol = StudentFactory(username="20000004", first_name="Carol")
    StudentFactory(username="20000005", first_name="Dave", looking_for_partner=True)
    dana = CoordinatorFactory(username="dana")
    labs = LabFactory.create_batch(4)
    lab_starting_in(-30)
    make_team(alice, bob, lab=labs[0])
    solo = make_team(carol, description="Solo")
    services.invitation_send(user=carol, project=solo, invitee_number="20000005")
    lobby, _ = room_open(name="Lobby")
    message_post(author=bob, room=lobby, text="hello")
    BookingWindow.get()
    for user in (alice, dana):
        Notification.objects.create(user=user, kind="announcement", text="Unread")
        Notification.objects.create(
            user=user, kind="announcement", text="Read", read_at=timezone.now()
        )
    return {"student": alice, "coordinator": dana}


def database_fingerprint() -> str:
    """A digest of every row a request could change (tokens aside)."""
    state = {
        "users": list(
            User.objects.order_by("pk").values_list(
                "pk",
                "preferred_name",
                "email",
                "looking_for_partner",
                "please_assign_me",
                "is_active",
            )
        ),
        "projects": list(
            Project.objects.order_by("pk").values_list("pk", "description", "lab")
        ),
        "members": list(
            Project.objects.order_by("pk").values_list("pk", "memberships__user")
        ),
        "invitations": list(
            Invitation.objects.order_by("pk").values_list("pk", "status")
        ),
        "labs": list(Lab.objects.order_by("pk").values_list("pk", "is_open")),
        "records": BookingRecord.objects.count(),
        "window": list(BookingWindow.objects.values_list()),
        "tokens": list(ApiToken.objects.order_by("pk").values_list("pk")),
        "rooms": list(Room.objects.order_by("pk").values_list("pk", "slug")),
        "messages": list(Message.objects.order_by("pk").values_list("pk", "text")),
        "notifications": list(
            Notification.objects.order_by("pk").values_list("pk", "read_at")
        ),
        "email_preferences": list(
            EmailPreference.objects.order_by("pk").values_list("pk", "email")
        ),
        "calendar_feeds": list(CalendarFeed.objects.values_list("pk", "nonce")),
        "announcements": Announcement.objects.count(),
        "ballots": list(
            BallotChoice.objects.order_by("pk").values_list("ballot", "lab", "rank")
        ),
    }
    return hashlib.sha256(json.dumps(state, default=str).encode()).hexdigest()


FUZZ_SETTINGS = settings(
    max_examples=15,  # per operation and persona: about 20 s in all here
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
    database=None,
)


def call_and_check(case, user) -> None:
    headers = bearer(user)
    before = database_fingerprint()
    case.call_and_validate(headers=headers, checks=CHECKS)
    if case.method.upper() in ("GET", "HEAD", "OPTIONS"):
        assert database_fingerprint() == before, (
            f"{case.method} {case.formatted_path} changed the database"
        )


def operation_strategies(api_schema):
    """(operation label, strategy) for every operation, valid and invalid input.

    Driven by Hypothesis directly: Schemathesis' own pytest integration
    (`@schema.parametrize`) does not run under pytest 9.
    """
    for result in api_schema.get_all_operations():
        operation = result.ok()
        strategies = [operation.as_strategy(GenerationMode.POSITIVE)]
        try:
            strategies.append(operation.as_strategy(GenerationMode.NEGATIVE))
        except Exception:  # noqa: S112 (nothing to make invalid)
            continue
        yield operation.label, st.one_of(strategies)


def fuzz(api_schema, user, *, only: str = "") -> list[str]:
    labels = []
    for label, strategy in operation_strategies(api_schema):
        if only not in label:
            continue

        @FUZZ_SETTINGS
        @given(case=strategy)
        def run(case):
            call_and_check(case, user)

        run()
        labels.append(label)
    return labels


def test_api_conforms_to_its_schema_as_a_student(api_schema, unit):
    labels = fuzz(api_schema, unit["student"])
    assert "POST /api/v1/labs/{lab_id}/book" in labels
    assert "POST /api/v1/me/notifications/read" in labels
    assert "PUT /api/v1/me/project/ballot" in labels


def test_api_conforms_to_its_schema_as_a_coordinator(api_schema, unit):
    labels = fuzz(api_schema, unit["coordinator"])
    assert "GET /api/v1/coordinator/summary" in labels
    assert "POST /api/v1/coordinator/pairings" in labels
    assert "POST /api/v1/coordinator/placements" in labels
    assert "POST /api/v1/coordinator/announcements" in labels
    assert "GET /api/v1/coordinator/allocations.csv" in labels


def test_the_ballot_api_conforms_to_its_schema_while_a_ballot_is_open(api_schema, unit):
    from projects.tests.ballot_helpers import open_ballot

    open_ballot()
    carol = User.objects.get(username="20000004")  # a solo project, no slot yet
    labels = fuzz(api_schema, carol, only="/ballot")
    assert labels == ["GET /api/v1/me/project/ballot", "PUT /api/v1/me/project/ballot"]
