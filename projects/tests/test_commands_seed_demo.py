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


def test_refuses_without_debug_unless_forced(db, settings):
    settings.DEBUG = False

    with pytest.raises(CommandError, match="DJANGO_DEBUG=False"):
        seed()
    assert not User.objects.exists()

    seed("--force")
    assert User.objects.filter(username="coordinator").exists()
