"""Rules 1, 2, 4, 5 and 9 (team changes) for project_create, _update, _dissolve."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from projects import services
from projects.models import (
    BookingRecord,
    BookingWindow,
    Invitation,
    Membership,
    Project,
)
from projects.tests.factories import (
    LabFactory,
    StudentFactory,
    lab_starting_in,
    make_team,
)


def close_team_changes():
    window = BookingWindow.get()
    window.team_changes_open = False
    window.save()


def test_student_creates_a_solo_project(alice):
    project = services.project_create(user=alice, description="  Robots  ")

    assert project.description == "Robots"
    assert [m.user for m in project.memberships.all()] == [alice]


def test_creating_with_a_partner_sends_an_invitation_not_a_membership(alice, bob):
    project = services.project_create(
        user=alice, description="Robots", partner_number=bob.username
    )

    invitation = Invitation.objects.get(project=project)
    assert invitation.invitee == bob
    assert invitation.status == Invitation.Status.PENDING
    assert not Membership.objects.filter(user=bob).exists()


def test_creating_with_a_slot_books_it_and_records_it(alice):
    lab = LabFactory()

    project = services.project_create(user=alice, description="Robots", lab=lab)

    assert project.lab == lab
    record = BookingRecord.objects.get()
    assert record.action == BookingRecord.Action.BOOK
    assert record.to_lab == lab
    assert record.members == alice.username


def test_a_student_with_a_project_cannot_create_another(alice):
    services.project_create(user=alice, description="First")

    with pytest.raises(ValidationError, match="already have a project"):
        services.project_create(user=alice, description="Second")
    assert Project.objects.count() == 1


def test_the_database_refuses_a_second_membership(alice):
    first = services.project_create(user=alice, description="First")
    other = Project.objects.create(description="Other")

    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.create(user=alice, project=other)
    assert Membership.objects.get(user=alice).project == first


@pytest.mark.parametrize(
    "description", ["", "   ", "\u200b\u2800", "x" * 65, "Robot\nthat sorts"]
)
def test_a_bad_description_creates_nothing(alice, description):
    with pytest.raises(ValidationError) as error:
        services.project_create(user=alice, description=description)

    assert "description" in error.value.message_dict
    assert not Project.objects.exists()


def test_any_error_creates_nothing_and_names_every_field(alice, bob):
    taken = make_team(bob, lab=LabFactory()).lab

    with pytest.raises(ValidationError) as error:
        services.project_create(
            user=alice, description="", lab=taken, partner_number="99999999"
        )

    assert set(error.value.message_dict) == {"description", "partner"}
    assert Membership.objects.filter(user=alice).count() == 0
    assert Project.objects.count() == 1


def test_a_slot_taken_meanwhile_creates_nothing(alice, bob):
    lab = LabFactory()
    make_team(bob, lab=lab)

    with pytest.raises(ValidationError) as error:
        services.project_create(user=alice, description="Robots", lab=lab)

    assert error.value.message_dict["lab"] == [services.SLOT_TAKEN]
    assert not Membership.objects.filter(user=alice).exists()
    assert Project.objects.count() == 1


def test_inviting_an_unknown_or_teamed_partner_is_refused(alice, bob, charlie):
    make_team(bob)

    with pytest.raises(ValidationError) as unknown:
        services.project_create(user=alice, description="x", partner_number="123")
    with pytest.raises(ValidationError) as teamed:
        services.project_create(
            user=alice, description="x", partner_number=bob.username
        )

    assert "partner" in unknown.value.message_dict
    assert "already has a project" in teamed.value.message_dict["partner"][0]
    assert not Membership.objects.filter(user=alice).exists()


def test_with_teams_of_one_a_partner_is_refused_and_nothing_is_created(
    alice, bob, settings
):
    settings.PAIRUP_TEAM_SIZE = 1

    with pytest.raises(ValidationError) as refused:
        services.project_create(
            user=alice, description="x", partner_number=bob.username
        )

    assert refused.value.message_dict["partner"] == [
        "Teams in this unit have one member: there is no partner to invite."
    ]
    assert not Membership.objects.filter(user=alice).exists()
    assert not Invitation.objects.exists()


def test_a_coordinator_cannot_be_a_member(dana):
    with pytest.raises(ValidationError, match="Only students"):
        services.project_create(user=dana, description="x")


def test_creating_cancels_pending_invitations_to_the_creator(alice, bob):
    invitation = services.project_create(
        user=bob, description="Bob's", partner_number=alice.username
    ).invitations.get()

    services.project_create(user=alice, description="Alice's own")

    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.CANCELLED


def test_team_changes_closed_refuses_create(alice):
    close_team_changes()

    with pytest.raises(ValidationError) as error:
        services.project_create(user=alice, description="x")

    assert error.value.messages == ["Team changes are closed."]
    assert not Project.objects.exists()


def test_a_coordinator_creates_for_a_student_while_team_changes_are_closed(alice, dana):
    close_team_changes()

    project = services.project_create(user=alice, actor=dana, description="x")

    assert project.memberships.get().user == alice


def test_a_member_edits_the_description(alice, bob):
    project = make_team(alice, bob)

    services.project_update(user=bob, project=project, description="New")

    project.refresh_from_db()
    assert project.description == "New"


@pytest.mark.parametrize("description", ["Robot\nthat sorts", "Robot\tkit", "R\x00"])
def test_a_description_with_a_control_character_is_refused(alice, description):
    project = make_team(alice, description="Old")

    with pytest.raises(ValidationError) as error:
        services.project_update(user=alice, project=project, description=description)

    assert error.value.message_dict == {
        "description": [
            "Keep the description to one line, without tabs or other "
            "control characters."
        ]
    }
    project.refresh_from_db()
    assert project.description == "Old"


def test_an_outsider_cannot_edit(alice, charlie):
    project = make_team(alice, description="Old")

    with pytest.raises(ValidationError, match="not a member"):
        services.project_update(user=charlie, project=project, description="Mine")

    project.refresh_from_db()
    assert project.description == "Old"


def test_dissolve_frees_members_releases_slot_and_cancels_invitations(
    alice, bob, charlie
):
    lab = LabFactory()
    project = make_team(alice, lab=lab)
    services.invitation_send(user=alice, project=project, invitee_number=bob.username)

    services.project_dissolve(user=alice, project=project)

    assert not Project.objects.filter(pk=project.pk).exists()
    assert not Membership.objects.filter(user=alice).exists()
    # Cancelled, not deleted (rule 5): a stale Accept can say why.
    assert Invitation.objects.get().status == Invitation.Status.CANCELLED
    assert Project.objects.filter(lab=lab).count() == 0
    # bob is free to start his own project and to book the slot
    services.project_create(user=bob, description="Bob's", lab=lab)


def test_dissolve_is_recorded_and_the_record_outlives_the_team(alice, bob):
    lab = LabFactory()
    project = make_team(alice, bob, lab=lab)
    team = project.pk

    services.project_dissolve(user=bob, project=project)

    record = BookingRecord.objects.get(action=BookingRecord.Action.DISSOLVE)
    assert record.project_number == team
    assert record.members == f"{alice.username}, {bob.username}"
    assert record.actor_username == bob.username
    assert record.from_lab == lab
    assert record.from_slot.startswith(lab.room)


def test_an_outsider_cannot_dissolve(alice, charlie):
    project = make_team(alice)

    with pytest.raises(ValidationError, match="not a member"):
        services.project_dissolve(user=charlie, project=project)
    assert Project.objects.filter(pk=project.pk).exists()


def test_team_changes_closed_refuses_dissolve(alice):
    project = make_team(alice)
    close_team_changes()

    with pytest.raises(ValidationError) as error:
        services.project_dissolve(user=alice, project=project)

    assert error.value.messages == ["Team changes are closed."]
    assert Project.objects.filter(pk=project.pk).exists()


def test_a_coordinator_dissolves_while_team_changes_are_closed(alice, dana):
    project = make_team(alice)
    close_team_changes()

    services.project_dissolve(user=dana, project=project)

    assert not Project.objects.exists()


def test_dissolving_a_dissolved_project_says_so(alice):
    project = make_team(alice)
    stale = Project.objects.get(pk=project.pk)
    services.project_dissolve(user=alice, project=project)

    with pytest.raises(ValidationError):
        services.project_dissolve(user=alice, project=stale)


def test_partners_do_not_change_within_a_project(alice, bob, charlie):
    """A full team takes no new member: splitting means dissolving."""
    project = make_team(alice, bob)

    with pytest.raises(ValidationError, match="already full"):
        services.invitation_send(
            user=alice, project=project, invitee_number=charlie.username
        )
    assert StudentFactory._meta.model.objects.get(pk=charlie.pk).is_student
    assert set(project.memberships.values_list("user__username", flat=True)) == {
        alice.username,
        bob.username,
    }


def test_a_team_cannot_dissolve_while_booking_is_closed_if_it_holds_a_slot(alice):
    project = make_team(alice, lab=LabFactory())
    window = BookingWindow.get()
    window.booking_open = False
    window.save()

    with pytest.raises(ValidationError, match="Booking is closed"):
        services.project_dissolve(user=alice, project=project)
    assert Project.objects.filter(pk=project.pk, lab__isnull=False).exists()


def test_a_team_cannot_dissolve_once_its_slot_is_inside_the_cutoff(alice, dana):
    project = make_team(alice)
    services.lab_book(user=dana, project=project, lab=lab_starting_in(30))

    with pytest.raises(ValidationError, match="can't be dissolved"):
        services.project_dissolve(user=alice, project=project)
    assert Project.objects.filter(pk=project.pk).exists()


def test_a_team_whose_slot_has_passed_can_dissolve(alice, dana):
    project = make_team(alice)
    services.lab_book(user=dana, project=project, lab=lab_starting_in(-30))

    services.project_dissolve(user=alice, project=project)

    assert not Project.objects.filter(pk=project.pk).exists()


def test_a_coordinator_dissolves_a_team_inside_the_cutoff(alice, dana):
    project = make_team(alice)
    services.lab_book(user=dana, project=project, lab=lab_starting_in(30))

    services.project_dissolve(user=dana, project=project)

    assert not Project.objects.filter(pk=project.pk).exists()
