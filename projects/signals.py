"""Signal receivers, connected in ProjectsConfig.ready()."""

from django.db import transaction

from projects.models import Membership
from projects.realtime import broadcast_labs, broadcast_viewers


def user_saved(sender, instance, created, update_fields=None, raw=False, **kwargs):
    """A member's display name is part of the team's name on its slot: send
    the slot again once a name change is committed (sign-ins, which save
    only `last_login`, cost nothing). A change of `is_active` (or a save of
    every field) may take a student in or out of the coordinator page's
    counts and table: nudge open coordinator pages too."""
    if created or raw:
        return
    if update_fields is None or "is_active" in update_fields:
        _nudge_coordinators(instance)
    name_fields = set(instance.DISPLAY_NAME_FIELDS)
    if update_fields is not None and not name_fields & set(update_fields):
        return
    lab_id = (
        Membership.objects.filter(user_id=instance.pk, project__lab__isnull=False)
        .values_list("project__lab_id", flat=True)
        .first()
    )
    if lab_id is None:
        return

    def broadcast_renamed_member():
        broadcast_labs(lab_ids=[lab_id])

    transaction.on_commit(broadcast_renamed_member, robust=True)


def _nudge_coordinators(user) -> None:
    """Through the board's group, as a team change: each coordinator page
    asks for its live parts once; the user's own boards keep their project."""
    project_id = (
        Membership.objects.filter(user_id=user.pk)
        .values_list("project_id", flat=True)
        .first()
    )

    def broadcast_activity():
        broadcast_viewers(user_ids=[user.pk], project_id=project_id)

    transaction.on_commit(broadcast_activity, robust=True)
