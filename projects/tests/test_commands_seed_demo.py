import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.models import COORDINATORS_GROUP
from projects.management.commands.seed_demo import DEMO_PASSWORD, STUDENTS
from projects.models import BookingRecord, Invitation, Lab, Membership, Project

User = get_user_model()


def seed(*args):
    out = io.StringIO()
    call_command("seed_demo", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


@pytest.fixture
def debug(settings):
    settings.DEBUG = True


def test_seed_makes_slots_students_a_coordinator_and_teams(db, debug):
    out = seed()

    coordinator = User.objects.get(username="coordinator")
    assert coordinator.is_staff
    assert coordinator.groups.filter(name=COORDINATORS_GROUP).exists()
    assert coordinator.is_coordinator
    assert User.objects.students().count() == len(STUDENTS)
    assert Lab.objects.upcoming().count() > 0
    assert Project.objects.filter(lab__isnull=False).count() == 2
    assert Project.objects.count() == 4
    assert Invitation.objects.filter(status=Invitation.Status.PENDING).count() == 1
    assert BookingRecord.objects.filter(via=BookingRecord.Via.COMMAND).count() == 2
    assert "coordinator / " + DEMO_PASSWORD in out
    assert "10000001 / " + DEMO_PASSWORD in out


def test_the_demo_password_signs_in(db, debug):
    seed()

    assert User.objects.get(username="coordinator").check_password(DEMO_PASSWORD)
    assert User.objects.get(username="10000001").check_password(DEMO_PASSWORD)


def test_seeding_twice_adds_nothing(db, debug):
    seed()
    counts = (
        User.objects.count(),
        Lab.objects.count(),
        Project.objects.count(),
        Membership.objects.count(),
        Invitation.objects.count(),
        BookingRecord.objects.count(),
    )

    out = seed()

    assert counts == (
        User.objects.count(),
        Lab.objects.count(),
        Project.objects.count(),
        Membership.objects.count(),
        Invitation.objects.count(),
        BookingRecord.objects.count(),
    )
    assert "0 lab slot(s) created" in out
    assert "0 student(s) created" in out


def test_a_team_refused_halfway_is_skipped_whole(db, debug, settings):
    settings.PAIRUP_TEAM_SIZE = 1  # every demo partner's invitation is refused
    err = io.StringIO()

    call_command("seed_demo", stdout=io.StringIO(), stderr=err)

    assert "Skipped the team of 10000001" in err.getvalue()
    founders = [STUDENTS[i][0] for i in (0, 2, 4)]
    assert not Membership.objects.filter(user__username__in=founders).exists()
    assert not BookingRecord.objects.exists()


def test_refuses_without_debug_unless_forced(db, settings):
    settings.DEBUG = False

    with pytest.raises(CommandError, match="DJANGO_DEBUG=False"):
        seed()
    assert not User.objects.exists()

    seed("--force")
    assert User.objects.filter(username="coordinator").exists()


def test_prints_the_address_it_was_asked_to_serve(db, debug):
    out = seed("--url", "http://127.0.0.1:8123/")

    assert "Sign in at http://127.0.0.1:8123/accounts/login/ with:" in out
    assert "8000" not in out


def test_prints_the_site_url_when_set(db, debug, settings):
    settings.PAIRUP_SITE_URL = "https://pairup.example.edu"

    out = seed()

    assert "Sign in at https://pairup.example.edu/accounts/login/ with:" in out


def test_prints_the_site_url_without_an_address_given(db, debug, settings):
    settings.PAIRUP_SITE_URL = "https://pairup.example.edu"

    out = seed()

    assert "Sign in at https://pairup.example.edu/accounts/login/ with:" in out


def test_refuses_an_address_that_is_not_http(db, debug):
    with pytest.raises(CommandError, match="--url must start with http"):
        seed("--url", "127.0.0.1:8000")
    assert not User.objects.exists()
