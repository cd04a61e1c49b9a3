"""Signal receivers, connected in ChatConfig.ready()."""

from functools import partial

from django.db import transaction

from chat import broadcast


def project_saved(sender, instance, created, raw=False, **kwargs):
    """Give every new team its room from the moment it exists."""
    if created and not raw:
        from chat.services import room_create_for_project

        room_create_for_project(project=instance)


def room_deleted(sender, instance, **kwargs):
    """Close the room's open sockets (4404) once the deletion is committed."""
    transaction.on_commit(partial(broadcast.room_close, instance.pk))


def membership_deleted(sender, instance, **kwargs):
    """Close a former member's sockets in the team room once committed."""
    from chat.models import Room

    room_id = (
        Room.objects.filter(project_id=instance.project_id)
        .values_list("pk", flat=True)
        .first()
    )
    if room_id is not None:
        transaction.on_commit(
            partial(broadcast.room_close, room_id, user_id=instance.user_id)
        )


def user_saved(sender, instance, created, update_fields=None, raw=False, **kwargs):
    """A user's name may have changed: once committed, their open chat
    sockets list them, sign their messages and see them out by the new one
    (sign-ins, which save only `last_login`, send nothing)."""
    if created or raw:
        return
    name_fields = instance.DISPLAY_NAME_FIELDS
    if update_fields is not None and not set(name_fields) & set(update_fields):
        return
    names = {field: getattr(instance, field) for field in name_fields}
    transaction.on_commit(
        partial(broadcast.user_renamed, instance.pk, names), robust=True
    )
