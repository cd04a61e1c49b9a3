"""Signal receivers, connected in ProjectsConfig.ready()."""

from django.db import transaction

from projects.models import Membership
from projects.realtime import broadcast_labs

NAME_FIELDS = {"preferred_name", "first_name", "username"}


def user_saved(sender, instance, created, update_fields=None, raw=False, **kwargs):
    """A member's display name is part of the team's name on its slot: send
    the slot again once a name change is committed (sign-ins, which save
    only `last_login`, cost nothing)."""
    if created or raw:
        return
    if update_fields is not None and not NAME_FIELDS & set(update_fields):
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
