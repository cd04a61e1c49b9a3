import io

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.models import COORDINATORS_GROUP
from accounts.tests.factories import StudentFactory


def make_coordinator(username):
    out = io.StringIO()
    call_command("make_coordinator", username, stdout=out)
    return out.getvalue()


def test_the_migration_made_the_group_with_admin_permissions(db):
    group = Group.objects.get(name=COORDINATORS_GROUP)
    codenames = set(group.permissions.values_list("codename", flat=True))

    assert {
        "view_lab",
        "change_lab",
        "view_project",
        "change_project",
        "change_bookingwindow",
        "view_bookingrecord",
        "view_user",
        "delete_accessattempt",
    } <= codenames
    assert "change_bookingrecord" not in codenames
    assert "delete_bookingrecord" not in codenames


def test_a_staff_user_becomes_a_coordinator(db):
    staff = StudentFactory(username="tutor", is_staff=True)
    assert not staff.is_coordinator

    out = make_coordinator("tutor")

    staff = type(staff).objects.get(pk=staff.pk)  # no cached group check
    assert staff.is_coordinator
    assert staff.has_perm("projects.change_lab")
    assert "tutor is now a coordinator" in out


@pytest.mark.parametrize(
    ("username", "message"), [("20000001", "not a staff"), ("nobody", "No user")]
)
def test_students_and_unknown_users_are_refused(alice, username, message):
    with pytest.raises(CommandError, match=message):
        make_coordinator(username)
    assert not alice.groups.exists()
