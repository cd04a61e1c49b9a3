"""Rule 7 (pairing needs consent) and rule 2 (team size) for invitations."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from projects import services
from projects.models import BookingWindow, Invitation, Membership
from projects.tests.factories import StudentFactory, make_team


def invite(project, inviter, invitee):
    return services.invitation_send(
        user=inviter, project=project, invitee_number=invitee.username
    )


def test_a_member_invites_a_free_student_by_number(alice, bob):
    project = make_team(alice)

    invitation = invite(project, alice, bob)

    assert invitation.status == Invitation.Status.PENDING
    assert invitation.inviter == alice
    assert not Membership.objects.filter(user=bob).exists()


def test_accepting_joins_the_team(alice, bob):
    project = make_team(alice)
    invitation = invite(project, alice, bob)

    services.invitation_accept(user=bob, invitation=invitation)

    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.ACCEPTED
    assert invitation.responded_at is not None
    assert Membership.objects.get(user=bob).project == project


def test_declining_leaves_both_apart(alice, bob):
    project = make_team(alice)
    invitation = invite(project, alice, bob)

    services.invitation_decline(user=bob, invitation=invitation)

    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.DECLINED
    assert not Membership.objects.filter(user=bob).exists()


def test_a_member_cancels_and_the_invitee_can_no_longer_accept(alice, bob):
    project = make_team(alice)
    invitation = invite(project, alice, bob)

    services.invitation_cancel(user=alice, invitation=invitation)

    with pytest.raises(ValidationError) as error:
        services.invitation_accept(user=bob, invitation=invitation)
    assert error.value.messages == [services.NOT_PENDING]
    assert not Membership.objects.filter(user=bob).exists()


def test_only_the_invitee_accepts_or_declines(alice, bob, charlie):
    invitation = invite(make_team(alice), alice, bob)

    with pytest.raises(ValidationError, match="not yours"):
        services.invitation_accept(user=charlie, invitation=invitation)
    with pytest.raises(ValidationError, match="not yours"):
        services.invitation_decline(user=charlie, invitation=invitation)
    assert not Membership.objects.filter(user=charlie).exists()


def test_only_a_member_of_the_inviting_project_cancels(alice, bob, charlie):
    invitation = invite(make_team(alice), alice, bob)

    with pytest.raises(ValidationError, match="not a member"):
        services.invitation_cancel(user=charlie, invitation=invitation)
    with pytest.raises(ValidationError, match="not a member"):
        services.invitation_cancel(user=bob, invitation=invitation)
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.PENDING


def test_an_outsider_cannot_invite_for_a_project(alice, bob, charlie):
    project = make_team(alice)

    with pytest.raises(ValidationError, match="not a member"):
        invite(project, charlie, bob)
    assert not Invitation.objects.exists()


def test_one_pending_invitation_per_project_and_invitee(alice, bob):
    project = make_team(alice)
    invite(project, alice, bob)

    with pytest.raises(ValidationError, match="already invited"):
        invite(project, alice, bob)
    assert Invitation.objects.count() == 1


def test_the_database_refuses_a_second_pending_invitation(alice, bob):
    project = make_team(alice)
    invite(project, alice, bob)

    with pytest.raises(IntegrityError), transaction.atomic():
        Invitation.objects.create(project=project, inviter=alice, invitee=bob)


def test_a_declined_invitation_can_be_sent_again(alice, bob):
    project = make_team(alice)
    services.invitation_decline(user=bob, invitation=invite(project, alice, bob))

    again = invite(project, alice, bob)

    assert again.status == Invitation.Status.PENDING


@pytest.mark.parametrize(
    ("number", "message"),
    [("", "No student"), ("99999999", "No student"), ("dana", "No student")],
)
def test_only_students_can_be_invited(alice, dana, number, message):
    project = make_team(alice)

    with pytest.raises(ValidationError) as error:
        services.invitation_send(user=alice, project=project, invitee_number=number)

    assert message in error.value.message_dict["partner"][0]


def test_nobody_invites_themselves(alice):
    project = make_team(alice)

    with pytest.raises(ValidationError, match="invite yourself"):
        invite(project, alice, alice)


def test_a_student_with_a_project_cannot_be_invited(alice, bob):
    project = make_team(alice)
    make_team(bob)

    with pytest.raises(ValidationError, match="already has a project"):
        invite(project, alice, bob)


def test_accepting_needs_the_invitee_to_be_free(alice, bob, charlie):
    invitation = invite(make_team(alice), alice, bob)
    make_team(charlie, bob)  # bob joins charlie meanwhile (which cancels it)

    with pytest.raises(ValidationError):
        services.invitation_accept(user=bob, invitation=invitation)
    assert Membership.objects.get(user=bob).project.memberships.count() == 2


def test_accepting_needs_room_in_the_team(alice, bob, charlie, settings):
    settings.PAIRUP_TEAM_SIZE = 3
    project = make_team(alice)
    to_bob = invite(project, alice, bob)
    to_charlie = invite(project, alice, charlie)
    settings.PAIRUP_TEAM_SIZE = 2
    services.invitation_accept(user=bob, invitation=to_bob)

    with pytest.raises(ValidationError) as error:
        services.invitation_accept(user=charlie, invitation=to_charlie)

    assert error.value.messages[0] in (
        "That team is already full.",
        services.NOT_PENDING,
    )
    assert project.memberships.count() == 2
    assert not Membership.objects.filter(user=charlie).exists()


def test_a_full_team_cannot_invite(alice, bob, charlie):
    project = make_team(alice, bob)

    with pytest.raises(ValidationError, match="already full"):
        invite(project, alice, charlie)


def test_when_a_team_fills_its_other_invitations_are_cancelled(alice, bob, charlie):
    project = make_team(alice)
    to_bob = invite(project, alice, bob)
    to_charlie = invite(project, alice, charlie)

    services.invitation_accept(user=bob, invitation=to_bob)

    to_charlie.refresh_from_db()
    assert to_charlie.status == Invitation.Status.CANCELLED


def test_joining_cancels_other_invitations_to_the_student(alice, bob, charlie):
    from_alice = invite(make_team(alice), alice, bob)
    from_charlie = invite(make_team(charlie), charlie, bob)

    services.invitation_accept(user=bob, invitation=from_alice)

    from_charlie.refresh_from_db()
    assert from_charlie.status == Invitation.Status.CANCELLED


def test_pending_invitations_do_not_make_a_student_unfree(alice, bob, charlie):
    invite(make_team(alice), alice, bob)

    invitation = invite(make_team(charlie), charlie, bob)

    assert invitation.status == Invitation.Status.PENDING


def test_team_changes_closed_refuses_invite_and_accept(alice, bob, charlie):
    project = make_team(alice)
    invitation = invite(project, alice, bob)
    window = BookingWindow.get()
    window.team_changes_open = False
    window.save()

    with pytest.raises(ValidationError) as sending:
        invite(project, alice, charlie)
    with pytest.raises(ValidationError) as accepting:
        services.invitation_accept(user=bob, invitation=invitation)

    assert sending.value.messages == ["Team changes are closed."]
    assert accepting.value.messages == ["Team changes are closed."]
    assert project.memberships.count() == 1


def test_an_invitation_to_a_dissolved_project_cannot_be_accepted(alice, bob):
    project = make_team(alice)
    invitation = invite(project, alice, bob)
    services.project_dissolve(user=alice, project=project)

    with pytest.raises(ValidationError) as accepting:
        services.invitation_accept(user=bob, invitation=invitation)
    assert accepting.value.messages == [
        f"This invitation is no longer pending: Team {project.pk} was dissolved."
    ]
    assert not Membership.objects.filter(user=bob).exists()


def test_dissolving_cancels_the_invitations_which_keep_the_teams_number(alice, bob):
    project = make_team(alice)
    invitation = invite(project, alice, bob)

    services.project_dissolve(user=alice, project=project)

    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.CANCELLED
    assert invitation.responded_at is not None
    assert invitation.project is None
    assert invitation.project_number == project.pk
    assert str(invitation) == f"Team {project.pk} invites {bob.username} (cancelled)"
    # Alice's new team may invite Bob again.
    assert invite(make_team(alice), alice, bob).status == Invitation.Status.PENDING


def test_a_pending_invitation_always_has_its_team(alice, bob):
    project = make_team(alice)
    invitation = invite(project, alice, bob)

    with pytest.raises(IntegrityError), transaction.atomic():
        Invitation.objects.filter(pk=invitation.pk).update(project=None)


def test_team_size_comes_from_settings(alice, settings):
    settings.PAIRUP_TEAM_SIZE = 3
    others = StudentFactory.create_batch(2)

    project = make_team(alice, *others)

    assert project.memberships.count() == 3
    with pytest.raises(ValidationError, match="already full"):
        invite(project, alice, StudentFactory())


def test_a_full_team_clears_its_members_partner_flags(alice, bob):
    alice.looking_for_partner = True
    alice.please_assign_me = True
    alice.save()
    bob.looking_for_partner = True
    bob.save()

    make_team(alice, bob)

    alice.refresh_from_db()
    bob.refresh_from_db()
    assert not (alice.looking_for_partner or alice.please_assign_me)
    assert not bob.looking_for_partner


def test_a_solo_project_keeps_the_looking_flag(alice):
    alice.looking_for_partner = True
    alice.save()

    make_team(alice)

    alice.refresh_from_db()
    assert alice.looking_for_partner
