"""Who is told about what: in the page and by email, never the actor or an
outsider, and email only as each user's preferences want."""

import pytest
from django.core import mail
from django.core.exceptions import ValidationError

from accounts.permissions import CoordinatorRequired
from accounts.tests.factories import CoordinatorFactory, StudentFactory
from notifications import services as notification_services
from notifications.models import Category, EmailDelivery, Kind, Notification
from notifications.tests.conftest import mailed, run_worker, told
from projects import services
from projects.models import Membership
from projects.tests.factories import LabFactory, lab_starting_in, make_team

pytestmark = pytest.mark.django_db


@pytest.fixture
def solo(alice):
    return make_team(alice, description="Line-following robot")


def kinds(user) -> list[str]:
    return [n.kind for n in told(user)]


# Invitations ----------------------------------------------------------------


def test_an_invitation_tells_the_invitee_in_the_page_and_by_email(
    committed, solo, alice, bob, charlie
):
    invitation = committed(
        services.invitation_send, user=alice, project=solo, invitee_number=bob.username
    )

    [notification] = told(bob)
    assert notification.kind == Kind.INVITATION_RECEIVED
    assert notification.text == (
        f"Alice invited you to join Team {solo.pk}: Alice (“Line-following robot”)."
    )
    assert notification.link == f"/#invitation-{invitation.pk}"
    [email] = mailed(bob)
    assert email.subject.startswith("[Pair-Up] Alice invited you")
    # Through the notification, which marks it read and goes to its link.
    assert f"http://127.0.0.1:8000/notifications/{notification.pk}/" in email.body
    assert told(alice) == [] and mailed(alice) == []
    assert told(charlie) == [] and mailed(charlie) == []


def test_accepting_tells_the_inviting_team_not_the_invitee(
    committed, solo, alice, bob, charlie
):
    invitation = services.invitation_send(
        user=alice, project=solo, invitee_number=bob.username
    )
    committed(services.invitation_accept, user=bob, invitation=invitation)

    assert kinds(alice) == [Kind.INVITATION_ACCEPTED]
    assert "Bob accepted the invitation" in told(alice)[0].text
    assert len(mailed(alice)) == 1
    assert told(bob) == [] and told(charlie) == []


def test_declining_tells_the_inviting_team(committed, solo, alice, bob):
    invitation = services.invitation_send(
        user=alice, project=solo, invitee_number=bob.username
    )
    committed(services.invitation_decline, user=bob, invitation=invitation)

    assert kinds(alice) == [Kind.INVITATION_DECLINED]
    assert told(bob) == []


def test_cancelling_tells_the_invitee(committed, solo, alice, bob):
    invitation = services.invitation_send(
        user=alice, project=solo, invitee_number=bob.username
    )
    committed(services.invitation_cancel, user=alice, invitation=invitation)

    [notification] = told(bob)
    assert notification.kind == Kind.INVITATION_CANCELLED
    assert notification.text.endswith("was withdrawn: Alice withdrew it.")
    assert told(alice) == []


def test_a_team_filling_up_tells_the_other_invitees(committed, solo, alice, bob):
    dave = StudentFactory(first_name="Dave")
    first = services.invitation_send(
        user=alice, project=solo, invitee_number=bob.username
    )
    services.invitation_send(user=alice, project=solo, invitee_number=dave.username)
    committed(services.invitation_accept, user=bob, invitation=first)

    [notification] = told(dave)
    assert notification.text.endswith("was withdrawn: the team is full.")


# Bookings -------------------------------------------------------------------


def test_a_booking_by_a_partner_tells_the_other_members_with_an_ics(
    committed, team, alice, bob, charlie
):
    lab = LabFactory()
    committed(services.lab_book, user=alice, project=team, lab=lab)

    [notification] = told(bob)
    assert notification.kind == Kind.SLOT_BOOKED
    assert notification.link == f"/labs/#lab-{lab.pk}"
    [email] = mailed(bob)
    [(filename, content, mimetype)] = email.attachments
    assert filename == "invite.ics"
    assert mimetype == "text/calendar; method=REQUEST"
    assert "METHOD:REQUEST" in content
    assert told(alice) == [] and mailed(alice) == []
    assert told(charlie) == [] and mailed(charlie) == []


def test_a_booking_by_a_coordinator_tells_every_member(
    committed, team, alice, bob, dana
):
    committed(services.lab_book, user=dana, project=team, lab=LabFactory())

    assert kinds(alice) == [Kind.SLOT_BOOKED]
    assert kinds(bob) == [Kind.SLOT_BOOKED]
    assert told(alice)[0].text.startswith("Dana (coordinator) booked")
    assert told(dana) == []


def test_a_move_and_a_release_tell_the_other_members(committed, team, alice, bob):
    first, second = LabFactory(), LabFactory()
    services.lab_book(user=alice, project=team, lab=first)
    committed(services.lab_book, user=bob, project=team, lab=second)
    committed(services.lab_release, user=bob, project=team)

    assert kinds(alice) == [Kind.SLOT_MOVED, Kind.SLOT_RELEASED]
    moved, released = told(alice)
    assert " from " in moved.text and " to " in moved.text
    assert "your team has no slot now" in released.text
    assert [m.attachments[0][0] for m in mailed(alice)] == ["invite.ics", "cancel.ics"]
    assert told(bob) == []


def test_a_refused_booking_tells_nobody(committed, team, alice, bob, charlie):
    lab = LabFactory()
    make_team(charlie, lab=lab)
    with pytest.raises(Exception, match="taken"):
        committed(services.lab_book, user=alice, project=team, lab=lab)

    assert Notification.objects.count() == 0
    assert mail.outbox == []


# Teams ---------------------------------------------------------------------


def test_dissolving_tells_the_partner_and_the_pending_invitees(
    committed, alice, bob, charlie
):
    project = make_team(alice, bob, lab=LabFactory())
    committed(services.project_dissolve, user=alice, project=project)

    [notification] = told(bob)
    assert notification.kind == Kind.TEAM_DISSOLVED
    assert "and released its lab slot" in notification.text
    [email] = mailed(bob)
    assert email.attachments[0][0] == "cancel.ics"
    assert told(alice) == [] and told(charlie) == []


def test_dissolving_after_the_slot_has_passed_does_not_say_it_was_released(
    committed, alice, bob, dana
):
    project = make_team(alice, bob)
    services.lab_book(user=dana, project=project, lab=lab_starting_in(-30))
    committed(services.project_dissolve, user=alice, project=project)

    [notification] = told(bob)
    assert notification.kind == Kind.TEAM_DISSOLVED
    assert "released" not in notification.text
    assert notification.text == (
        f"Alice dissolved Team {project.pk}: Alice, Bob. "
        "You can start or join another project."
    )


def test_dissolving_withdraws_pending_invitations_and_says_so(
    committed, solo, alice, bob
):
    services.invitation_send(user=alice, project=solo, invitee_number=bob.username)
    committed(services.project_dissolve, user=alice, project=solo)

    [notification] = told(bob)
    assert notification.kind == Kind.INVITATION_CANCELLED
    assert notification.text.endswith("the team was dissolved.")


def test_a_coordinator_dissolving_tells_every_member(committed, team, alice, bob, dana):
    committed(services.project_dissolve, user=dana, project=team)

    assert kinds(alice) == [Kind.TEAM_DISSOLVED]
    assert kinds(bob) == [Kind.TEAM_DISSOLVED]


def test_a_coordinator_adding_a_student_tells_them_and_the_team(
    committed, solo, alice, bob, dana, charlie
):
    committed(services.membership_add, actor=dana, project=solo, student=bob)

    [added] = told(bob)
    assert added.kind == Kind.MEMBER_ADDED
    assert added.link == f"/chat/team-{solo.pk}/"
    [teammate] = told(alice)
    assert teammate.kind == Kind.TEAMMATE_ADDED
    assert "added Bob to" in teammate.text
    assert told(charlie) == [] and told(dana) == []


def test_a_coordinator_removing_a_student_tells_them_and_the_team(
    committed, team, alice, bob, dana
):
    membership = Membership.objects.get(user=bob)
    committed(services.membership_remove, actor=dana, membership=membership)

    assert kinds(bob) == [Kind.MEMBER_REMOVED]
    assert kinds(alice) == [Kind.TEAMMATE_REMOVED]


def test_the_team_told_of_a_removal_is_named_without_the_removed_member(
    committed, team, alice, bob, dana
):
    membership = Membership.objects.get(user=bob)
    committed(services.membership_remove, actor=dana, membership=membership)

    [removed] = told(bob)
    assert removed.text == (
        f"Dana (coordinator) removed you from Team {team.pk}: Alice, Bob."
    )
    [teammate] = told(alice)
    assert teammate.text == (
        f"Dana (coordinator) removed Bob from Team {team.pk}: Alice."
    )


# Announcements -----------------------------------------------------------------


def test_an_announcement_reaches_every_student_in_the_page_only_by_default(
    committed, alice, bob, dana
):
    count = committed(
        notification_services.announcement_send,
        actor=dana,
        message="Room 2.01 moves to 3.14 on Friday.",
    )

    assert count == 2
    assert [n.text for n in told(alice)] == [
        "Dana (coordinator): Room 2.01 moves to 3.14 on Friday."
    ]
    assert kinds(bob) == [Kind.ANNOUNCEMENT]
    assert told(dana) == []
    assert mail.outbox == []  # email for announcements is off unless chosen


def test_only_coordinators_announce(alice):
    with pytest.raises(CoordinatorRequired, match="Only coordinators can send"):
        notification_services.announcement_send(actor=alice, message="Hi")


# Preferences ---------------------------------------------------------------


def test_email_preferences_are_respected_per_category(
    committed, solo, alice, bob, dana
):
    notification_services.preferences_update(
        user=bob, email={Category.INVITATIONS: False, Category.ANNOUNCEMENTS: True}
    )
    committed(
        services.invitation_send, user=alice, project=solo, invitee_number=bob.username
    )
    committed(notification_services.announcement_send, actor=dana, message="Hello")

    assert kinds(bob) == [Kind.INVITATION_RECEIVED, Kind.ANNOUNCEMENT]
    assert [m.subject for m in mailed(bob)] == ["[Pair-Up] Dana (coordinator): Hello"]


def test_a_user_without_an_email_address_is_told_in_the_page_only(
    committed, solo, alice
):
    nobody = StudentFactory(email="")
    committed(
        services.invitation_send,
        user=alice,
        project=solo,
        invitee_number=nobody.username,
    )

    assert kinds(nobody) == [Kind.INVITATION_RECEIVED]
    assert EmailDelivery.objects.count() == 0


def test_the_unit_name_is_in_the_subject(committed, settings, solo, alice, bob):
    settings.PAIRUP_UNIT_NAME = "COMP1234"
    committed(
        services.invitation_send, user=alice, project=solo, invitee_number=bob.username
    )

    assert mailed(bob)[0].subject.startswith("[COMP1234] ")


def test_an_email_queued_before_the_account_was_deactivated_is_not_sent(
    django_capture_on_commit_callbacks, solo, alice, bob
):
    with django_capture_on_commit_callbacks(execute=True):
        services.invitation_send(user=alice, project=solo, invitee_number=bob.username)
    bob.is_active = False
    bob.save(update_fields=["is_active"])

    run_worker()

    assert mailed(bob) == []
    delivery = EmailDelivery.objects.get(user=bob)
    assert delivery.status == EmailDelivery.Status.FAILED
    assert "deactivated" in delivery.last_error


def test_an_announcement_that_would_not_fit_with_the_announcers_name_is_refused(
    alice,
):
    # A display name may be 150 characters: the text stored is the name,
    # " (coordinator): " and the message, 1000 characters at most.
    long_named = CoordinatorFactory(preferred_name="D" * 150)
    message = "m" * notification_services.MESSAGE_MAX

    with pytest.raises(ValidationError, match="Keep it to 834 characters"):
        notification_services.announcement_send(actor=long_named, message=message)
    assert Notification.objects.count() == 0


def test_a_notification_text_never_exceeds_what_is_stored(committed, settings):
    settings.PAIRUP_TEAM_SIZE = 5
    members = [StudentFactory(preferred_name=f"{n}" * 150) for n in range(5)]
    project = make_team(*members)
    first, second = LabFactory(), LabFactory()
    services.lab_book(user=members[0], project=project, lab=first)
    committed(services.lab_book, user=members[1], project=project, lab=second)

    [moved] = told(members[0])
    limit = Notification._meta.get_field("text").max_length
    assert len(moved.text) == limit
    assert moved.text.endswith("…")
