"""Write side of teams and lab slots.

Every path that changes a team, an invitation or a booking (pages, API,
admin, commands) goes through these functions, so the rules of docs/rules.md
hold everywhere. Students are bound by the booking window and the cut-off;
coordinators are not, but get the same integrity checks.
"""

import zlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import NamedTuple, NoReturn
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.urls import reverse
from django.utils import timezone

from accounts.permissions import require_coordinator
from notifications import calendar as slot_calendar
from notifications import reminders
from notifications.models import Kind
from notifications.services import actor_name, notify
from pairup.dates import FIRST_DAY, LAST_DAY, slot_label, slot_text
from pairup.text import has_control_character, is_blank
from projects import ballot_clock, ballot_live, ballot_selectors, realtime, selectors
from projects.models import (
    BookingRecord,
    BookingWindow,
    Invitation,
    Lab,
    Membership,
    Project,
    team_label,
)
from projects.realtime import broadcast_all_labs, broadcast_labs

User = get_user_model()
Via = BookingRecord.Via

BOOKING_CLOSED = "Booking is closed."
TEAM_CHANGES_CLOSED = "Team changes are closed."
SLOT_TAKEN = "That slot was just taken by another team. Please pick another one."
NOT_PENDING = "This invitation is no longer pending."


# Checks -----------------------------------------------------------------


def _require_team_changes_open(actor) -> None:
    if actor.is_coordinator:
        return
    if not BookingWindow.get().team_changes_open:
        raise ValidationError(TEAM_CHANGES_CLOSED, code="team_changes_closed")


def _require_booking_open(actor, now) -> None:
    if actor.is_coordinator:
        return
    window = BookingWindow.get()
    # A ballot says why booking waits, and holds first come back until the
    # allocation has run.
    refusal = ballot_selectors.booking_refusal(window, now)
    if refusal is not None:
        code, message = refusal
        raise ValidationError(message, code=code)
    if not window.is_booking_open(now):
        raise ValidationError(BOOKING_CLOSED, code="booking_closed")


def _require_member(actor, project: Project) -> None:
    if actor.is_coordinator:
        return
    if not Membership.objects.filter(user=actor, project=project).exists():
        raise ValidationError(
            "You are not a member of this project.", code="not_member"
        )


SLOT_REFUSALS = {
    "slot_past": "That slot has already started.",
    "slot_closed": "That slot is not open for booking.",
    "slot_taken": SLOT_TAKEN,
    "booking_closed": BOOKING_CLOSED,
}


def _check_slot_bookable(actor, lab: Lab, now) -> None:
    """Raise unless the slot may be booked by the actor (freedom is checked
    later, under the lock; the window by `_require_booking_open`)."""
    if actor.is_coordinator:
        return
    refusal = selectors.slot_refusal(
        start=lab.start.timestamp(),
        is_open=lab.is_open,
        taken=False,
        booking_open=True,
        now=now.timestamp(),
    )
    if refusal == "slot_cutoff":
        raise ValidationError(
            f"Slots can only be booked more than "
            f"{settings.PAIRUP_BOOKING_CUTOFF_MINUTES} minutes before they start.",
            code=refusal,
        )
    if refusal is not None:
        raise ValidationError(SLOT_REFUSALS[refusal], code=refusal)


SLOT_STARTED = "Your team's slot has started, so it can no longer be changed."


def _check_slot_leavable(actor, lab: Lab, now) -> None:
    if actor.is_coordinator:
        return
    if lab.is_past(now):
        raise ValidationError(SLOT_STARTED, code="slot_cutoff")
    if not lab.is_before_cutoff(now):
        raise ValidationError(
            f"Your current slot starts within {settings.PAIRUP_BOOKING_CUTOFF_MINUTES} "
            f"minutes (or has started), so it can no longer be changed.",
            code="slot_cutoff",
        )


PROJECT_GONE = "That team no longer exists (it was dissolved)."


def _lock_project(project: Project) -> Project:
    """Lock the project row (PostgreSQL; SQLite's immediate transactions serialise).

    A project dissolved meanwhile raises ValidationError(PROJECT_GONE).
    """
    locked = Project.objects.select_for_update().filter(pk=project.pk).first()
    if locked is None:
        raise ValidationError(PROJECT_GONE, code="project_gone")
    return locked


def _lock_student(user) -> None:
    """Lock the student's row before any project row (PostgreSQL).

    Joining a team cancels the student's other pending invitations, rows
    that a concurrent accept of another invitation to the same student may
    hold: taking the student's lock first serialises those transactions
    instead of deadlocking them. Lock order everywhere: student, project,
    invitation.
    """
    list(User.objects.select_for_update().filter(pk=user.pk).values_list("pk"))


def _find_student(number: str, *, field: str) -> User:
    number = (number or "").strip()
    student = User.objects.students().filter(username=number).first()
    if student is None:
        raise ValidationError(
            {
                field: ValidationError(
                    f"No student with the number {number!r} was found.",
                    code="no_student",
                )
            }
        )
    return student


def _set_lab(project: Project, lab: Lab | None) -> None:
    """Point the project at the slot; a slot held by another team raises.

    No savepoint of its own: every caller is inside an atomic block that the
    ValidationError leaves, rolling the whole change back (on PostgreSQL the
    transaction can't be used after the IntegrityError anyway), so a
    savepoint would only add two round trips to every booking.
    """
    project.lab = lab
    try:
        project.save(update_fields=["lab", "updated_at"])
    except IntegrityError:
        raise ValidationError(SLOT_TAKEN, code="slot_taken") from None


def _record(
    *, actor, via, action, project, from_lab=None, to_lab=None, roster=None
) -> None:
    """Keep the change as text. `roster` (`_roster`) saves reading the
    members again where the caller has them."""
    if roster is None:
        roster = _roster(project)
    numbers = ", ".join(member.number for member in roster)
    BookingRecord.objects.create(
        action=action,
        via=via,
        actor=actor,
        # No actor: the ballot's run by the clock.
        actor_username=actor.username if actor is not None else "ballot",
        project_number=project.pk,
        members=numbers,
        from_lab=from_lab,
        from_slot=slot_text(from_lab),
        to_lab=to_lab,
        to_slot=slot_text(to_lab),
    )


def _broadcast_on_commit(*labs: Lab | None) -> None:
    """Refresh the slots on every open board once the change is committed.

    Robust: a channel layer that is down (Redis) is logged, and the booking,
    already committed, is not reported to the user as a server error.
    """
    _broadcast_ids_on_commit([lab.pk for lab in labs if lab is not None])


def _broadcast_ids_on_commit(lab_ids: list[int]) -> None:
    if not lab_ids:
        return

    # A named function, not a partial: Django logs a robust callback's
    # failure by its __qualname__.
    def broadcast_slots():
        broadcast_labs(lab_ids=lab_ids)

    transaction.on_commit(broadcast_slots, robust=True)


def _cancel_invitations(queryset, *, reason: str = "") -> None:
    """Cancel the pending invitations; with a reason, tell their invitees."""
    pending = queryset.filter(status=Invitation.Status.PENDING)
    if reason:
        _tell_invitees(pending, reason=reason)
    pending.update(status=Invitation.Status.CANCELLED, responded_at=timezone.now())


# Notifications (notifications.services.notify runs them after commit) ----


class Member(NamedTuple):
    id: int
    number: str
    preferred_name: str
    first_name: str


def _roster(project: Project) -> list[Member]:
    """The team's members in joining order, in one query: what a booking
    change needs for its record, its notification and the team's name."""
    return [
        Member(*row)
        for row in Membership.objects.filter(project=project)
        .order_by("joined_at", "pk")
        .values_list(
            "user_id", "user__username", "user__preferred_name", "user__first_name"
        )
    ]


def _member_ids(project: Project) -> list[int]:
    return list(
        Membership.objects.filter(project=project).values_list("user_id", flat=True)
    )


def _viewers_on_commit(user_ids: list[int], project_id: int | None) -> None:
    """Tell the users' open boards their project changed, once committed.

    Registered before any slot broadcast of the same change, so the boards
    filter that broadcast with the new project.
    """
    if not user_ids:
        return

    def broadcast_viewers():
        realtime.broadcast_viewers(user_ids=user_ids, project_id=project_id)

    transaction.on_commit(broadcast_viewers, robust=True)


def _team_name(project: Project, roster: list[Member] | None = None) -> str:
    """The team's name with its members as they are now (one query, none
    given the `roster`)."""
    if roster is None:
        roster = _roster(project)
    return team_label(
        project.pk, [m.preferred_name or m.first_name or m.number for m in roster]
    )


def _tell_invitees(invitations, *, reason: str, actor=None) -> None:
    """Tell each invitee of these (pending) invitations that it is withdrawn."""
    for invitation in invitations.select_related("project"):
        notify(
            kind=Kind.INVITATION_CANCELLED,
            users=[invitation.invitee_id],
            actor=actor,
            link=reverse("home"),
            team=invitation.team,
            reason=reason,
        )


def _board_link(lab: Lab) -> str:
    return f"{reverse('projects:lab_board')}#lab-{lab.pk}"


def _room_link(project: Project) -> str:
    # By name and slug only: projects never imports chat (docs/architecture.md).
    return reverse("chat:room_detail", kwargs={"slug": f"team-{project.pk}"})


def _team_full(project: Project) -> bool:
    """Count the members afresh: call after locking the project."""
    return project.memberships.count() >= settings.PAIRUP_TEAM_SIZE


def _join(*, user: User, project: Project) -> Membership:
    """Add the user to the project and cancel what that makes moot."""
    try:
        with transaction.atomic():
            membership = Membership.objects.create(user=user, project=project)
    except IntegrityError:
        raise ValidationError(
            "You already belong to a project.", code="already_member"
        ) from None
    _cancel_invitations(Invitation.objects.filter(invitee=user))
    _viewers_on_commit([user.pk], project.pk)
    # The team's name, on its slot, now names the new member.
    _broadcast_ids_on_commit([project.lab_id] if project.lab_id else [])
    if _team_full(project):
        _cancel_invitations(project.invitations.all(), reason="the team is full")
        # A full team's members are no longer looking, nor waiting to be
        # assigned: search and the coordinator's lists would mislead.
        members = Membership.objects.filter(project=project).values("user_id")
        User.objects.filter(pk__in=members).update(
            looking_for_partner=False, please_assign_me=False
        )
    return membership


def _clean_description(description: str) -> str:
    description = (description or "").strip()
    if is_blank(description):
        raise ValidationError(
            {"description": "Describe your project (1 to 64 characters)."}
        )
    if len(description) > 64:
        raise ValidationError(
            {"description": f"Keep it to 64 characters (it has {len(description)})."}
        )
    if has_control_character(description):
        raise ValidationError(
            {
                "description": "Keep the description to one line, without tabs "
                "or other control characters."
            }
        )
    return description


# Projects ---------------------------------------------------------------


@transaction.atomic
def project_create(
    *,
    user,
    description: str,
    lab: Lab | None = None,
    partner_number: str = "",
    via: str = Via.PAGE,
    actor=None,
) -> Project:
    """Create a project with the user as its first member.

    Optionally book `lab` and invite the student `partner_number`. Any error
    raises ValidationError (keyed by field where one is to blame) and nothing
    is created. `actor` (default: the user) is who acts: a coordinator
    creating a project for a student is not bound by the window or cut-off.
    """
    now = timezone.now()
    actor = actor or user
    if not user.is_student:
        raise ValidationError("Only students can create projects.", code="not_student")
    _require_team_changes_open(actor)
    _lock_student(user)
    if Membership.objects.filter(user=user).exists():
        raise ValidationError("You already have a project.", code="already_member")
    errors = {}
    try:
        description = _clean_description(description)
    except ValidationError as error:
        errors.update(error.message_dict)
    partner = None
    if partner_number and partner_number.strip():
        try:
            if settings.PAIRUP_TEAM_SIZE < 2:
                # The founder fills a team of one: an invitation could never
                # be accepted.
                raise ValidationError(
                    "Teams in this unit have one member: there is no partner "
                    "to invite.",
                    # The input's fault, not the team's state (API: 400).
                    code="team_of_one",
                )
            partner = _find_student(partner_number, field="partner")
            _check_invitable(inviter=user, invitee=partner)
        except ValidationError as error:
            # Keep each error's code (the API tells conflicts from bad input).
            if hasattr(error, "error_dict"):
                partner_errors = [e for es in error.error_dict.values() for e in es]
            else:
                partner_errors = error.error_list
            errors.setdefault("partner", []).extend(partner_errors)
    if lab is not None:
        try:
            _require_booking_open(actor, now)
            _check_slot_bookable(actor, lab, now)
        except ValidationError as error:
            errors.setdefault("lab", []).extend(error.error_list)
    if errors:
        raise ValidationError(errors)

    project = Project(description=description)
    project.full_clean(exclude=["lab"])
    project.save()
    _join(user=user, project=project)
    if actor.pk != user.pk:
        notify(
            kind=Kind.MEMBER_ADDED,
            users=[user],
            actor=actor,
            link=_room_link(project),
            team=f"Team {project.pk}",
        )
    if lab is not None:
        try:
            _set_lab(project, lab)
        except ValidationError as error:
            raise ValidationError({"lab": error.error_list}) from None
        _record(
            actor=actor,
            via=via,
            action=BookingRecord.Action.BOOK,
            project=project,
            to_lab=lab,
        )
        _broadcast_on_commit(lab)
        _tell_booking(actor=actor, project=project, lab=lab, old_lab=None)
    if partner is not None:
        invitation = Invitation.objects.create(
            project=project, inviter=user, invitee=partner
        )
        _tell_invited(invitation, inviter=user)
    return project


@transaction.atomic
def project_update(*, user, project: Project, description: str) -> Project:
    _require_member(user, project)
    project.description = _clean_description(description)
    project.save(update_fields=["description", "updated_at"])
    slot_calendar.slot_event_refresh(project=project)
    _broadcast_ids_on_commit([project.lab_id] if project.lab_id else [])
    return project


def _check_slot_dissolvable(actor, lab: Lab | None, now) -> None:
    """Dissolving releases the slot, so it needs what a release needs (a
    slot already past is simply let go)."""
    if lab is None or lab.is_past(now):
        return
    try:
        _require_booking_open(actor, now)
        _check_slot_leavable(actor, lab, now)
    except ValidationError as error:
        raise ValidationError(
            f"{' '.join(error.messages)} Your team's slot can't be released "
            "now, so the team can't be dissolved: ask your coordinator.",
            code=error.error_list[0].code,
        ) from None


def project_dissolve_check(*, user, project: Project) -> None:
    """Raise what `project_dissolve` would raise now, changing nothing: the
    confirm page asks it before it offers the button."""
    _require_member(user, project)
    _require_team_changes_open(user)
    _check_slot_dissolvable(user, project.lab, timezone.now())


@transaction.atomic
def project_dissolve(*, user, project: Project, via: str = Via.PAGE) -> None:
    """Delete the project: members become free, its slot is released, its
    pending invitations are cancelled (they outlive it, without a project,
    keeping its number)."""
    now = timezone.now()
    _require_member(user, project)
    _require_team_changes_open(user)
    project = _lock_project(project)
    lab = project.lab
    _check_slot_dissolvable(user, lab, now)
    if lab is not None:
        _record(
            actor=user,
            via=via,
            action=BookingRecord.Action.DISSOLVE,
            project=project,
            from_lab=lab,
        )
    team = _team_name(project)
    event = slot_calendar.slot_event_cancel(project=project)
    notify(
        kind=Kind.TEAM_DISSOLVED,
        users=_member_ids(project),
        actor=user,
        link=reverse("home"),
        event=event,
        team=team,
        # A slot that has passed is let go, not released for booking.
        released=(
            f" and released its lab slot {slot_label(lab)}"
            if lab is not None and not lab.is_past(now)
            else ""
        ),
    )
    # Its pending invitations are cancelled and unlinked in one UPDATE. A
    # second write of the same rows (the delete's SET NULL) makes PostgreSQL
    # check their foreign keys again, locking each invitee's user row after
    # this project's: the reverse of an accept's order (student, project),
    # and a deadlock when one races this.
    pending = project.invitations.filter(status=Invitation.Status.PENDING)
    _tell_invitees(pending, reason="the team was dissolved")
    pending.update(
        status=Invitation.Status.CANCELLED,
        responded_at=now,
        project=None,
        project_number=project.pk,
    )
    members = _member_ids(project)
    _viewers_on_commit(members, None)
    # Its ballot goes with it (a cascade); the members' pages are told.
    ballot_live.team_gone_on_commit(members)
    project.delete()
    _broadcast_on_commit(lab)


# Invitations ------------------------------------------------------------


def _check_invitable(*, inviter, invitee) -> None:
    if invitee.pk == inviter.pk:
        raise ValidationError(
            {"partner": ValidationError("You can't invite yourself.", code="self")}
        )
    if Membership.objects.filter(user=invitee).exists():
        raise ValidationError(
            {
                "partner": ValidationError(
                    f"{invitee.display_name} already has a project.", code="taken"
                )
            }
        )


@transaction.atomic
def invitation_send(*, user, project: Project, invitee_number: str) -> Invitation:
    """Invite a free student to the user's project (while there is room)."""
    _require_member(user, project)
    _require_team_changes_open(user)
    project = _lock_project(project)
    if _team_full(project):
        raise ValidationError(
            {"partner": ValidationError("Your team is already full.", code="team_full")}
        )
    invitee = _find_student(invitee_number, field="partner")
    _check_invitable(inviter=user, invitee=invitee)
    pending = Invitation.objects.filter(
        project=project, invitee=invitee, status=Invitation.Status.PENDING
    )
    if pending.exists():
        raise ValidationError(
            {
                "partner": ValidationError(
                    f"You have already invited {invitee.display_name}.",
                    code="duplicate",
                )
            }
        )
    try:
        with transaction.atomic():
            invitation = Invitation.objects.create(
                project=project, inviter=user, invitee=invitee
            )
    except IntegrityError:
        raise ValidationError(
            {
                "partner": ValidationError(
                    f"You have already invited {invitee.display_name}.",
                    code="duplicate",
                )
            }
        ) from None
    _tell_invited(invitation, inviter=user)
    return invitation


def _tell_invited(invitation: Invitation, *, inviter) -> None:
    notify(
        kind=Kind.INVITATION_RECEIVED,
        users=[invitation.invitee_id],
        actor=inviter,
        link=f"{reverse('home')}#invitation-{invitation.pk}",
        team=_team_name(invitation.project),
        description=invitation.project.description,
    )


def _require_pending(invitation: Invitation) -> Invitation:
    """Reload the invitation under the transaction and check it is pending."""
    invitation = Invitation.objects.select_for_update().filter(pk=invitation.pk).first()
    if invitation is None or invitation.status != Invitation.Status.PENDING:
        _refuse_not_pending(invitation)
    return invitation


def _refuse_not_pending(invitation: Invitation | None) -> NoReturn:
    """Say the invitation is no longer pending, and why if its team is gone
    (naming only the team's number: what the invitee saw)."""
    if invitation is not None and invitation.project_id is None:
        raise ValidationError(
            f"{NOT_PENDING[:-1]}: {invitation.team} was dissolved.",
            code="not_pending",
        )
    raise ValidationError(NOT_PENDING, code="not_pending")


@transaction.atomic
def invitation_accept(*, user, invitation: Invitation) -> Membership:
    """Join the inviting team, if the user is still free and the team has room."""
    if invitation.invitee_id != user.pk:
        raise ValidationError("This invitation is not yours.", code="not_invitee")
    if invitation.project_id is None:
        # Its team was dissolved: it can never be pending again.
        _refuse_not_pending(invitation)
    _require_team_changes_open(user)
    # Lock order: student, project, invitation (see _lock_student).
    _lock_student(user)
    try:
        project = _lock_project(invitation.project)
    except ValidationError:
        # Dissolved since it was read: its invitation was cancelled with it.
        _require_pending(invitation)
        raise
    invitation = _require_pending(invitation)
    if Membership.objects.filter(user=user).exists():
        raise ValidationError(
            "You already belong to a project: dissolve it first to join another.",
            code="already_member",
        )
    if _team_full(project):
        raise ValidationError("That team is already full.", code="team_full")
    invitation.status = Invitation.Status.ACCEPTED
    invitation.responded_at = timezone.now()
    invitation.save(update_fields=["status", "responded_at", "updated_at"])
    teammates = _member_ids(project)
    membership = _join(user=user, project=project)
    notify(
        kind=Kind.INVITATION_ACCEPTED,
        users=teammates,
        actor=user,
        link=reverse("projects:project_mine"),
        team=_team_name(project),
    )
    return membership


@transaction.atomic
def invitation_decline(*, user, invitation: Invitation) -> Invitation:
    if invitation.invitee_id != user.pk:
        raise ValidationError("This invitation is not yours.", code="not_invitee")
    invitation = _require_pending(invitation)
    invitation.status = Invitation.Status.DECLINED
    invitation.responded_at = timezone.now()
    invitation.save(update_fields=["status", "responded_at", "updated_at"])
    notify(
        kind=Kind.INVITATION_DECLINED,
        users=_member_ids(invitation.project),
        actor=user,
        link=reverse("projects:project_mine"),
        team=_team_name(invitation.project),
    )
    return invitation


@transaction.atomic
def invitation_cancel(*, user, invitation: Invitation) -> Invitation:
    if invitation.project_id is None:
        # Its team was dissolved; only its inviter (or a coordinator) learns so.
        if invitation.inviter_id != user.pk and not user.is_coordinator:
            raise ValidationError(
                "You are not a member of this project.", code="not_member"
            )
        _refuse_not_pending(invitation)
    _require_member(user, invitation.project)
    invitation = _require_pending(invitation)
    _tell_invitees(
        Invitation.objects.filter(pk=invitation.pk),
        reason=f"{actor_name(user)} withdrew it",
        actor=user,
    )
    invitation.status = Invitation.Status.CANCELLED
    invitation.responded_at = timezone.now()
    invitation.save(update_fields=["status", "responded_at", "updated_at"])
    return invitation


# Booking ----------------------------------------------------------------


@transaction.atomic
def lab_book(*, user, project: Project, lab: Lab, via: str = Via.PAGE) -> Project:
    """Book the slot for the project, or move the project to it.

    Moving releases the old slot in the same transaction. Two teams racing
    for one slot: exactly one wins; the other gets ValidationError(SLOT_TAKEN).
    """
    now = timezone.now()
    _require_member(user, project)
    _require_booking_open(user, now)
    project = _lock_project(project)
    # With the team that holds it, if any: one read for "gone" and "taken".
    lab = Lab.objects.select_related("project").filter(pk=lab.pk).first()
    if lab is None:
        raise ValidationError("That slot no longer exists.", code="slot_gone")
    old_lab = project.lab
    if old_lab is not None and old_lab.pk == lab.pk:
        raise ValidationError("Your team already has this slot.", code="same_slot")
    _check_slot_bookable(user, lab, now)
    if old_lab is not None:
        _check_slot_leavable(user, old_lab, now)
    if getattr(lab, "project", None) is not None:
        raise ValidationError(SLOT_TAKEN, code="slot_taken")
    _set_lab(project, lab)
    roster = _roster(project)
    action = BookingRecord.Action.MOVE if old_lab else BookingRecord.Action.BOOK
    _record(
        actor=user,
        via=via,
        action=action,
        project=project,
        from_lab=old_lab,
        to_lab=lab,
        roster=roster,
    )
    _broadcast_on_commit(old_lab, lab)
    _tell_booking(actor=user, project=project, lab=lab, old_lab=old_lab, roster=roster)
    return project


def _tell_booking(
    *,
    actor,
    project: Project,
    lab: Lab,
    old_lab: Lab | None,
    roster: list[Member] | None = None,
) -> None:
    """Record the team's calendar event at its new slot (reminders move with
    it) and tell the other members, with the .ics."""
    if roster is None:
        roster = _roster(project)
    event = slot_calendar.slot_event_book(project=project, lab=lab)
    notify(
        kind=Kind.SLOT_MOVED if old_lab else Kind.SLOT_BOOKED,
        users=[member.id for member in roster],
        actor=actor,
        link=_board_link(lab),
        event=event,
        team=_team_name(project, roster),
        slot=slot_label(lab),
        old_slot=slot_label(old_lab) if old_lab else "",
    )


def _releasable_lab(actor, project: Project, now) -> Lab:
    lab = project.lab
    if lab is None:
        raise ValidationError("Your team has no slot to release.", code="no_slot")
    _check_slot_leavable(actor, lab, now)
    return lab


def _require_not_started(actor, project: Project, now) -> None:
    """A slot that has started can never be released by its team: say so
    before "Booking is closed.", which would suggest it could be later."""
    if not actor.is_coordinator and project.lab and project.lab.is_past(now):
        raise ValidationError(SLOT_STARTED, code="slot_cutoff")


def lab_release_check(*, user, project: Project) -> None:
    """Raise what `lab_release` would raise now, changing nothing: the
    confirm page asks it before it offers the button."""
    now = timezone.now()
    _require_member(user, project)
    _require_not_started(user, project, now)
    _require_booking_open(user, now)
    _releasable_lab(user, project, now)


@transaction.atomic
def lab_release(*, user, project: Project, via: str = Via.PAGE) -> Project:
    now = timezone.now()
    _require_member(user, project)
    _require_not_started(user, project, now)
    _require_booking_open(user, now)
    project = _lock_project(project)
    lab = _releasable_lab(user, project, now)
    _set_lab(project, None)
    roster = _roster(project)
    _record(
        actor=user,
        via=via,
        action=BookingRecord.Action.RELEASE,
        project=project,
        from_lab=lab,
        roster=roster,
    )
    _broadcast_on_commit(lab)
    notify(
        kind=Kind.SLOT_RELEASED,
        users=[member.id for member in roster],
        actor=user,
        link=reverse("projects:lab_board"),
        event=slot_calendar.slot_event_cancel(project=project),
        team=_team_name(project, roster),
        old_slot=slot_label(lab),
    )
    return project


# Coordinator tools -----------------------------------------------------


@transaction.atomic
def membership_add(
    *, actor, project: Project, student, via: str = Via.ADMIN
) -> Membership:
    """Put a free student into a project with room (coordinators only)."""
    require_coordinator(actor, message="Only coordinators can assign students.")
    if not student.is_student:
        raise ValidationError(
            f"{student.username} is not a student.", code="not_student"
        )
    _lock_student(student)
    project = _lock_project(project)
    if _team_full(project):
        raise ValidationError("That team is already full.", code="team_full")
    if Membership.objects.filter(user=student).exists():
        raise ValidationError(
            f"{student.display_name} already belongs to a project.",
            code="already_member",
        )
    teammates = _member_ids(project)
    membership = _join(user=student, project=project)
    team = _team_name(project)
    notify(
        kind=Kind.MEMBER_ADDED,
        users=[student],
        actor=actor,
        link=_room_link(project),
        event=slot_calendar.slot_event_invite(project=project),
        team=team,
    )
    notify(
        kind=Kind.TEAMMATE_ADDED,
        users=teammates,
        actor=actor,
        link=_room_link(project),
        team=team,
        member=student.display_name,
    )
    return membership


@transaction.atomic
def membership_remove(*, actor, membership: Membership, via: str = Via.ADMIN) -> None:
    """Take a student out of a project (coordinators only).

    A project left without members is dissolved, releasing its slot.
    """
    require_coordinator(actor, message="Only coordinators can move students.")
    project = _lock_project(membership.project)
    if not project.memberships.filter(pk=membership.pk).exists():
        # Removed a moment ago (another coordinator, another tab): telling
        # them again would be wrong, and so would "removed".
        raise ValidationError(
            f"{membership.user.display_name} is no longer in {project}.",
            code="not_member",
        )
    if not project.memberships.exclude(pk=membership.pk).exists():
        # Dissolve while the member is still in it, so the booking record
        # keeps the member's number.
        project_dissolve(user=actor, project=project, via=via)
        return
    removed = membership.user
    team = _team_name(project)
    membership.delete()
    notify(
        kind=Kind.MEMBER_REMOVED,
        users=[removed],
        actor=actor,
        link=reverse("home"),
        event=slot_calendar.slot_event_uninvite(project=project, member=removed),
        team=team,
    )
    notify(
        kind=Kind.TEAMMATE_REMOVED,
        users=_member_ids(project),
        actor=actor,
        link=reverse("projects:project_mine"),
        # The team as it is now: the removed member is no longer in its name.
        team=_team_name(project),
        member=removed.display_name,
    )
    _viewers_on_commit([membership.user_id], None)
    _broadcast_ids_on_commit([project.lab_id] if project.lab_id else [])


@transaction.atomic
def booking_window_update(
    *, actor, window: BookingWindow, fields: list[str]
) -> BookingWindow:
    """Save the booking window and refresh every open board (coordinators)."""
    require_coordinator(
        actor, message="Only coordinators can change the booking window."
    )
    window.full_clean()
    before = BookingWindow.objects.filter(pk=window.pk).first() or BookingWindow()
    window.save(update_fields=[*fields, "updated_at"])
    transaction.on_commit(broadcast_all_labs, robust=True)
    reminders.schedule_booking_opening(before=before, after=window)
    ballot_clock.window_saved(before=before, after=window)
    return window


# The ballot (projects/ballot_services.py runs it) ------------------------

lock_project = _lock_project


def lock_projects(project_ids) -> None:
    """Lock these projects' rows in id order (PostgreSQL; SQLite's
    immediate transactions serialise)."""
    list(
        Project.objects.select_for_update()
        .filter(pk__in=list(project_ids))
        .order_by("pk")
        .values_list("pk")
    )


def ballot_book_many(*, placements, actor=None) -> tuple[list, list]:
    """Book each team the slot the ballot gave it; call inside the run's
    transaction. Return (booked, skipped) as [project, lab, rank] lists,
    skipped ones with the reason's code.

    `placements` are [project id, lab id, rank]. A placement that can't be
    booked (the team dissolved or got a slot meanwhile, the slot was taken)
    is skipped and changes nothing. Each booking is recorded (via "ballot"),
    its calendar event made, its members told their result; every open
    board gets the slots in one event after commit.
    """
    labs = Lab.objects.in_bulk([lab_id for _, lab_id, _ in placements])
    booked, skipped = [], []
    for project_id, lab_id, rank in placements:
        try:
            with transaction.atomic():
                project = _lock_project(Project(pk=project_id))
                if project.lab_id is not None:
                    raise ValidationError("The team has a slot.", code="has_slot")
                lab = labs.get(lab_id)
                if lab is None:
                    raise ValidationError("The slot is gone.", code="slot_gone")
                _set_lab(project, lab)
                roster = _roster(project)
                _record(
                    actor=actor,
                    via=Via.BALLOT,
                    action=BookingRecord.Action.BOOK,
                    project=project,
                    to_lab=lab,
                    roster=roster,
                )
                notify(
                    kind=Kind.BALLOT_PLACED,
                    users=[member.id for member in roster],
                    actor=actor,
                    link=_board_link(lab),
                    event=slot_calendar.slot_event_book(project=project, lab=lab),
                    team=_team_name(project, roster),
                    slot=slot_label(lab),
                    choice=ballot_selectors.choice_text(rank),
                )
        except ValidationError as error:
            skipped.append([project_id, lab_id, rank, error.error_list[0].code])
        else:
            booked.append([project_id, lab_id, rank])
    _broadcast_ids_on_commit([lab_id for _, lab_id, _ in booked])
    return booked, skipped


# Lab slots -------------------------------------------------------------

# The longest slot or interval create_labs takes: its slots fit in one day.
MINUTES_A_DAY = 24 * 60
# The first key of PostgreSQL's advisory locks on a room (`_lock_room`).
ROOM_LOCKS = 7001


@dataclass
class LabSeries:
    """What `labs_create` did: new slots, ones already there, and why others
    were skipped (a DST gap, an overlap)."""

    created: list[Lab] = field(default_factory=list)
    existing: list[Lab] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _local_start(naive: datetime, tz: ZoneInfo) -> datetime | None:
    """Return the aware local time, None in a DST gap; ambiguous: the first."""
    aware = naive.replace(tzinfo=tz, fold=0)
    round_trip = aware.astimezone(UTC).astimezone(tz).replace(tzinfo=None)
    return aware if round_trip == naive else None


@transaction.atomic
def labs_create(
    *,
    room: str,
    day: date,
    start: time,
    end: time,
    every: int,
    duration: int | None = None,
    is_open: bool = True,
) -> LabSeries:
    """Create slots in `room` at local wall times in TIME_ZONE.

    A slot starts every `every` minutes from `start` and lasts `duration`
    minutes (default: `every`); the last one ends by `end`. A local time
    that doesn't exist (DST gap) is skipped with a warning; an ambiguous one
    takes its first occurrence. A slot already there (same room, start and
    end) is left alone; one that would overlap another in the room, or
    start with one of another length, is skipped with a warning. Bad input (including a day outside FIRST_DAY..LAST_DAY
    or minutes beyond a day) raises ValidationError.
    """
    room = (room or "").strip()
    if duration is None:
        duration = every
    if not room:
        raise ValidationError({"room": "Give the room's name."})
    if len(room) > Lab._meta.get_field("room").max_length:
        raise ValidationError({"room": "Keep the room's name to 40 characters."})
    if has_control_character(room):
        raise ValidationError(
            {
                "room": "Keep the room's name to one line, without tabs or other "
                "control characters."
            }
        )
    if every <= 0 or duration <= 0:
        raise ValidationError("Slot lengths and intervals must be positive minutes.")
    if every > MINUTES_A_DAY or duration > MINUTES_A_DAY:
        raise ValidationError(
            f"Slot lengths and intervals must be at most {MINUTES_A_DAY} minutes "
            "(a day)."
        )
    if not FIRST_DAY <= day <= LAST_DAY:
        raise ValidationError(
            {"day": f"The date must be between {FIRST_DAY} and {LAST_DAY}."}
        )
    if duration > every:
        raise ValidationError(
            f"Slots of {duration} minutes starting every {every} minutes would "
            f"overlap each other."
        )
    if end <= start:
        raise ValidationError({"end": "The end time must be after the start time."})
    if datetime.combine(day, start) + timedelta(minutes=duration) > datetime.combine(
        day, end
    ):
        raise ValidationError(
            {
                "end": f"A slot of {duration} minutes doesn't fit between "
                f"{start:%H:%M} and {end:%H:%M}."
            }
        )
    tz = ZoneInfo(settings.TIME_ZONE)
    _lock_room(room)
    series = LabSeries()
    wall = datetime.combine(day, start)
    last = datetime.combine(day, end)
    length = timedelta(minutes=duration)
    while wall + length <= last:
        lab_start = _local_start(wall, tz)
        if lab_start is None:
            series.warnings.append(
                f"Skipped {room} {wall:%Y-%m-%d %H:%M}: that local time does not "
                f"exist in {tz.key} (daylight saving starts)."
            )
        else:
            _create_one_lab(room, lab_start, length, is_open, series)
        wall += timedelta(minutes=every)
    if series.created:
        _broadcast_on_commit(*series.created)
    return series


def _create_one_lab(room, lab_start, length, is_open, series: LabSeries) -> None:
    lab_start = lab_start.astimezone(UTC)
    lab_end = lab_start + length
    same = Lab.objects.filter(room=room, start=lab_start).first()
    if same is not None and same.end != lab_end:
        # Not the slot asked for: saying "already there" would hide that
        # the room keeps a slot of another length at this time.
        series.warnings.append(
            f"Skipped {room} {timezone.localtime(lab_start):%Y-%m-%d %H:%M}: the "
            f"slot {_slot_name(same)} starts then "
            f"({_minutes(same.end - same.start)} minutes, not {_minutes(length)})."
        )
        return
    if same is not None:
        series.existing.append(same)
        return
    overlap = selectors.lab_overlapping(room=room, start=lab_start, end=lab_end)
    if overlap is not None:
        series.warnings.append(
            f"Skipped {room} {timezone.localtime(lab_start):%Y-%m-%d %H:%M}: it "
            f"would overlap the slot {_slot_name(overlap)}."
        )
        return
    lab = Lab(room=room, start=lab_start, end=lab_end, is_open=is_open)
    lab.full_clean()
    lab.save()
    series.created.append(lab)


def _minutes(length: timedelta) -> int:
    return int(length.total_seconds() // 60)


def _slot_name(lab: Lab) -> str:
    """A slot as "CSSE 2.01, Wed 20 May 2026 16:05-16:20" (local time)."""
    return f"{lab}-{timezone.localtime(lab.end):%H:%M}"


def _lock_room(room: str) -> None:
    """Hold `room` until the transaction ends, so that two saves in one room
    check for overlaps one after the other: a new slot has no row to lock,
    and only (room, start) is unique. SQLite needs nothing, its transactions
    (immediate) already hold the database's write lock."""
    if connection.vendor != "postgresql":
        return
    key = zlib.crc32(room.encode()) - 2**31  # PostgreSQL's int4
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [ROOM_LOCKS, key])


def lab_overlap_check(
    *, room: str, start: datetime, end: datetime, lab_id: int | None = None
) -> None:
    """Raise ValidationError when a slot in `room` from `start` to `end` would
    overlap another slot there (not slot `lab_id` itself), changing nothing:
    the Labs admin form asks it before it saves, `lab_save` again.

    Called in a transaction, it holds the room until the transaction ends
    (`_lock_room`): the admin's form and save share one, so two coordinators
    adding slots at once are checked one after the other and the second
    sees the form again with the first's slot named.
    """
    _lock_room(room)
    other = selectors.lab_overlapping(
        room=room, start=start, end=end, exclude_id=lab_id
    )
    if other is not None:
        raise ValidationError(
            f"This slot would overlap the slot {_slot_name(other)} in the same room.",
            code="lab_overlap",
        )


@transaction.atomic
def lab_save(*, actor, lab: Lab) -> Lab:
    """Create or change a slot (coordinators) and refresh every open board.

    A slot that would overlap another in its room is refused, as
    `labs_create` skips one. Changing a booked slot's time or room is a move
    for its team: recorded (via the admin, the only caller) and told, with
    the calendar update.
    """
    require_coordinator(actor, message="Only coordinators can change slots.")
    lab.full_clean()
    lab_overlap_check(room=lab.room, start=lab.start, end=lab.end, lab_id=lab.pk)
    before = Lab.objects.filter(pk=lab.pk).first() if lab.pk else None
    lab.save()
    _broadcast_on_commit(lab)
    moved = before is not None and (before.start, before.end, before.room) != (
        lab.start,
        lab.end,
        lab.room,
    )
    project = Project.objects.filter(lab=lab).first() if moved else None
    if project is not None:
        # The team's slot changed under it: a move, for its record and its
        # calendars too.
        roster = _roster(project)
        _record(
            actor=actor,
            via=Via.ADMIN,
            action=BookingRecord.Action.MOVE,
            project=project,
            from_lab=before,
            to_lab=lab,
            roster=roster,
        )
        _tell_booking(
            actor=actor, project=project, lab=lab, old_lab=before, roster=roster
        )
    return lab


@transaction.atomic
def labs_delete(*, actor, labs) -> int:
    """Delete free slots (coordinators); open boards drop their rows.

    A booked slot can't be deleted (the database protects it): release it
    first.
    """
    require_coordinator(actor, message="Only coordinators can change slots.")
    lab_ids = [lab.pk for lab in labs]
    if Project.objects.filter(lab_id__in=lab_ids).exists():
        raise ValidationError(
            "A booked slot can't be deleted: release it first.", code="slot_taken"
        )
    deleted, _ = Lab.objects.filter(pk__in=lab_ids).delete()
    _broadcast_ids_on_commit(lab_ids)
    return deleted


@transaction.atomic
def labs_set_open(*, actor, labs, is_open: bool) -> int:
    """Open or close the given slots for booking; return how many changed.

    A booked slot keeps its team either way: closing only stops new bookings.
    """
    require_coordinator(actor, message="Only coordinators can change slots.")
    lab_ids = list(
        Lab.objects.filter(pk__in=[lab.pk for lab in labs])
        .exclude(is_open=is_open)
        .values_list("pk", flat=True)
    )
    Lab.objects.filter(pk__in=lab_ids).update(is_open=is_open)
    _broadcast_ids_on_commit(lab_ids)
    return len(lab_ids)
