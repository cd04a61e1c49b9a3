"""Write side of teams and lab slots.

Every path that changes a team, an invitation or a booking (pages, API,
admin, commands) goes through these functions, so the rules of design.md
hold everywhere. Students are bound by the booking window and the cut-off;
coordinators are not, but get the same integrity checks.
"""

from functools import partial

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from projects.models import (
    BookingRecord,
    BookingWindow,
    Invitation,
    Lab,
    Membership,
    Project,
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
    if not BookingWindow.get().is_booking_open(now):
        raise ValidationError(BOOKING_CLOSED, code="booking_closed")


def _require_member(actor, project: Project) -> None:
    if actor.is_coordinator:
        return
    if not Membership.objects.filter(user=actor, project=project).exists():
        raise ValidationError(
            "You are not a member of this project.", code="not_member"
        )


def _check_slot_bookable(actor, lab: Lab, now) -> None:
    """Raise unless the slot may be booked by the actor (freedom is checked later)."""
    if actor.is_coordinator:
        return
    if lab.start <= now:
        raise ValidationError("That slot has already started.", code="slot_past")
    if not lab.is_open:
        raise ValidationError("That slot is not open for booking.", code="slot_closed")
    if not lab.is_before_cutoff(now):
        raise ValidationError(
            f"Slots can only be booked more than "
            f"{settings.PAIRUP_BOOKING_CUTOFF_MINUTES} minutes before they start.",
            code="slot_cutoff",
        )


def _check_slot_leavable(actor, lab: Lab, now) -> None:
    if actor.is_coordinator:
        return
    if not lab.is_before_cutoff(now):
        raise ValidationError(
            f"Your current slot starts within {settings.PAIRUP_BOOKING_CUTOFF_MINUTES} "
            f"minutes (or has started), so it can no longer be changed.",
            code="slot_cutoff",
        )


def _lock_project(project: Project) -> Project:
    """Lock the project row (PostgreSQL; SQLite's immediate transactions serialise)."""
    return Project.objects.select_for_update().get(pk=project.pk)


def _find_student(number: str, *, field: str) -> User:
    number = (number or "").strip()
    student = User.objects.students().filter(username=number).first()
    if student is None:
        raise ValidationError(
            {field: f"No student with the number {number!r} was found."},
            code="no_student",
        )
    return student


def _set_lab(project: Project, lab: Lab | None) -> None:
    """Point the project at the slot; a slot held by another team raises."""
    project.lab = lab
    try:
        with transaction.atomic():
            project.save(update_fields=["lab", "updated_at"])
    except IntegrityError:
        raise ValidationError(SLOT_TAKEN, code="slot_taken") from None


def _slot_text(lab: Lab | None) -> str:
    if lab is None:
        return ""
    start, end = timezone.localtime(lab.start), timezone.localtime(lab.end)
    return f"{lab.room} {start:%Y-%m-%d %H:%M}-{end:%H:%M}"


def _record(*, actor, via, action, project, from_lab=None, to_lab=None) -> None:
    numbers = ", ".join(
        Membership.objects.filter(project=project)
        .order_by("joined_at", "pk")
        .values_list("user__username", flat=True)
    )
    BookingRecord.objects.create(
        action=action,
        via=via,
        actor=actor,
        actor_username=actor.username,
        project_number=project.pk,
        members=numbers,
        from_lab=from_lab,
        from_slot=_slot_text(from_lab),
        to_lab=to_lab,
        to_slot=_slot_text(to_lab),
    )


def _broadcast_on_commit(*labs: Lab | None) -> None:
    lab_ids = [lab.pk for lab in labs if lab is not None]
    if lab_ids:
        transaction.on_commit(partial(broadcast_labs, lab_ids=lab_ids))


def _cancel_invitations(queryset) -> None:
    queryset.filter(status=Invitation.Status.PENDING).update(
        status=Invitation.Status.CANCELLED, responded_at=timezone.now()
    )


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
    if project.memberships.count() >= settings.PAIRUP_TEAM_SIZE:
        _cancel_invitations(project.invitations.all())
    return membership


def _clean_description(description: str) -> str:
    description = (description or "").strip()
    if not description:
        raise ValidationError(
            {"description": "Describe your project (1 to 64 characters)."}
        )
    if len(description) > 64:
        raise ValidationError(
            {"description": f"Keep it to 64 characters (it has {len(description)})."}
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
) -> Project:
    """Create a project with the user as its first member.

    Optionally book `lab` and invite the student `partner_number`. Any error
    raises ValidationError (keyed by field where one is to blame) and nothing
    is created.
    """
    now = timezone.now()
    if not user.is_student:
        raise ValidationError("Only students can create projects.", code="not_student")
    _require_team_changes_open(user)
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
            partner = _find_student(partner_number, field="partner")
            _check_invitable(inviter=user, invitee=partner)
        except ValidationError as error:
            errors.setdefault("partner", []).extend(
                error.message_dict.get("partner", error.messages)
            )
    if lab is not None:
        try:
            _require_booking_open(user, now)
            _check_slot_bookable(user, lab, now)
        except ValidationError as error:
            errors.setdefault("lab", []).extend(error.messages)
    if errors:
        raise ValidationError(errors)

    project = Project(description=description)
    project.full_clean(exclude=["lab"])
    project.save()
    _join(user=user, project=project)
    if lab is not None:
        try:
            _set_lab(project, lab)
        except ValidationError as error:
            raise ValidationError({"lab": error.messages}) from None
        _record(
            actor=user,
            via=via,
            action=BookingRecord.Action.BOOK,
            project=project,
            to_lab=lab,
        )
        _broadcast_on_commit(lab)
    if partner is not None:
        Invitation.objects.create(project=project, inviter=user, invitee=partner)
    return project


@transaction.atomic
def project_update(*, user, project: Project, description: str) -> Project:
    _require_member(user, project)
    project.description = _clean_description(description)
    project.save(update_fields=["description", "updated_at"])
    return project


@transaction.atomic
def project_dissolve(*, user, project: Project, via: str = Via.PAGE) -> None:
    """Delete the project: members become free, its slot is released, its
    invitations go with it."""
    _require_member(user, project)
    _require_team_changes_open(user)
    project = _lock_project(project)
    lab = project.lab
    if lab is not None:
        _record(
            actor=user,
            via=via,
            action=BookingRecord.Action.DISSOLVE,
            project=project,
            from_lab=lab,
        )
    project.delete()
    _broadcast_on_commit(lab)


# Invitations ------------------------------------------------------------


def _check_invitable(*, inviter, invitee) -> None:
    if invitee.pk == inviter.pk:
        raise ValidationError({"partner": "You can't invite yourself."}, code="self")
    if Membership.objects.filter(user=invitee).exists():
        raise ValidationError(
            {"partner": f"{invitee.display_name} already has a project."}, code="taken"
        )


@transaction.atomic
def invitation_send(*, user, project: Project, invitee_number: str) -> Invitation:
    """Invite a free student to the user's project (while there is room)."""
    _require_member(user, project)
    _require_team_changes_open(user)
    project = _lock_project(project)
    if project.memberships.count() >= settings.PAIRUP_TEAM_SIZE:
        raise ValidationError(
            {"partner": "Your team is already full."}, code="team_full"
        )
    invitee = _find_student(invitee_number, field="partner")
    _check_invitable(inviter=user, invitee=invitee)
    pending = Invitation.objects.filter(
        project=project, invitee=invitee, status=Invitation.Status.PENDING
    )
    if pending.exists():
        raise ValidationError(
            {"partner": f"You have already invited {invitee.display_name}."},
            code="duplicate",
        )
    try:
        with transaction.atomic():
            return Invitation.objects.create(
                project=project, inviter=user, invitee=invitee
            )
    except IntegrityError:
        raise ValidationError(
            {"partner": f"You have already invited {invitee.display_name}."},
            code="duplicate",
        ) from None


def _require_pending(invitation: Invitation) -> Invitation:
    """Reload the invitation under the transaction and check it is pending."""
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.status != Invitation.Status.PENDING:
        raise ValidationError(NOT_PENDING, code="not_pending")
    return invitation


@transaction.atomic
def invitation_accept(*, user, invitation: Invitation) -> Membership:
    """Join the inviting team, if the user is still free and the team has room."""
    if invitation.invitee_id != user.pk:
        raise ValidationError("This invitation is not yours.", code="not_invitee")
    _require_team_changes_open(user)
    # Lock in the same order as dissolve (project, then its invitations).
    project = _lock_project(invitation.project)
    invitation = _require_pending(invitation)
    if Membership.objects.filter(user=user).exists():
        raise ValidationError(
            "You already belong to a project: dissolve it first to join another.",
            code="already_member",
        )
    if project.memberships.count() >= settings.PAIRUP_TEAM_SIZE:
        raise ValidationError("That team is already full.", code="team_full")
    invitation.status = Invitation.Status.ACCEPTED
    invitation.responded_at = timezone.now()
    invitation.save(update_fields=["status", "responded_at", "updated_at"])
    return _join(user=user, project=project)


@transaction.atomic
def invitation_decline(*, user, invitation: Invitation) -> Invitation:
    if invitation.invitee_id != user.pk:
        raise ValidationError("This invitation is not yours.", code="not_invitee")
    invitation = _require_pending(invitation)
    invitation.status = Invitation.Status.DECLINED
    invitation.responded_at = timezone.now()
    invitation.save(update_fields=["status", "responded_at", "updated_at"])
    return invitation


@transaction.atomic
def invitation_cancel(*, user, invitation: Invitation) -> Invitation:
    _require_member(user, invitation.project)
    invitation = _require_pending(invitation)
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
    lab = Lab.objects.get(pk=lab.pk)
    old_lab = project.lab
    if old_lab is not None and old_lab.pk == lab.pk:
        raise ValidationError("Your team already has this slot.", code="same_slot")
    _check_slot_bookable(user, lab, now)
    if old_lab is not None:
        _check_slot_leavable(user, old_lab, now)
    if Project.objects.filter(lab=lab).exists():
        raise ValidationError(SLOT_TAKEN, code="slot_taken")
    _set_lab(project, lab)
    action = BookingRecord.Action.MOVE if old_lab else BookingRecord.Action.BOOK
    _record(
        actor=user,
        via=via,
        action=action,
        project=project,
        from_lab=old_lab,
        to_lab=lab,
    )
    _broadcast_on_commit(old_lab, lab)
    return project


@transaction.atomic
def lab_release(*, user, project: Project, via: str = Via.PAGE) -> Project:
    now = timezone.now()
    _require_member(user, project)
    _require_booking_open(user, now)
    project = _lock_project(project)
    lab = project.lab
    if lab is None:
        raise ValidationError("Your team has no slot to release.", code="no_slot")
    _check_slot_leavable(user, lab, now)
    _set_lab(project, None)
    _record(
        actor=user,
        via=via,
        action=BookingRecord.Action.RELEASE,
        project=project,
        from_lab=lab,
    )
    _broadcast_on_commit(lab)
    return project


# Coordinator tools -----------------------------------------------------


@transaction.atomic
def membership_add(
    *, actor, project: Project, student, via: str = Via.ADMIN
) -> Membership:
    """Put a free student into a project with room (coordinators only)."""
    if not actor.is_coordinator:
        raise ValidationError(
            "Only coordinators can assign students.", code="forbidden"
        )
    if not student.is_student:
        raise ValidationError(
            f"{student.username} is not a student.", code="not_student"
        )
    project = _lock_project(project)
    if project.memberships.count() >= settings.PAIRUP_TEAM_SIZE:
        raise ValidationError("That team is already full.", code="team_full")
    if Membership.objects.filter(user=student).exists():
        raise ValidationError(
            f"{student.display_name} already belongs to a project.",
            code="already_member",
        )
    return _join(user=student, project=project)


@transaction.atomic
def membership_remove(*, actor, membership: Membership, via: str = Via.ADMIN) -> None:
    """Take a student out of a project (coordinators only).

    A project left without members is dissolved, releasing its slot.
    """
    if not actor.is_coordinator:
        raise ValidationError("Only coordinators can move students.", code="forbidden")
    project = _lock_project(membership.project)
    membership.delete()
    if not project.memberships.exists():
        project_dissolve(user=actor, project=project, via=via)


@transaction.atomic
def booking_window_update(
    *, actor, window: BookingWindow, fields: list[str]
) -> BookingWindow:
    """Save the booking window and refresh every open board."""
    window.full_clean()
    window.save(update_fields=[*fields, "updated_at"])
    transaction.on_commit(broadcast_all_labs)
    return window
