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


def user_pre_save(sender, instance, raw=False, update_fields=None, **kwargs):
    """Note whether this save takes away staff or superuser status: team
    rooms let coordinators in at connect, so the sockets must be told."""
    instance._chat_lost_status = False
    if raw or instance.pk is None:
        return
    status = {"is_staff", "is_superuser"}
    if update_fields is not None and not status & set(update_fields):
        return
    old = sender._default_manager.filter(pk=instance.pk).values(*status).first()
    if old is None:
        return
    instance._chat_lost_status = any(
        old[field] and not getattr(instance, field) for field in status
    )


def user_status_saved(sender, instance, created, raw=False, **kwargs):
    if getattr(instance, "_chat_lost_status", False):
        instance._chat_lost_status = False
        transaction.on_commit(
            partial(broadcast.user_access_changed, instance.pk), robust=True
        )


def user_groups_changed(sender, instance, action, reverse, pk_set, **kwargs):
    """Out of a group (the Coordinators group makes staff coordinators): the
    user's sockets check their rooms again once committed."""
    if action == "pre_clear" and reverse:
        # A group emptied: who was in it is known only before.
        instance._chat_cleared = list(instance.user_set.values_list("pk", flat=True))
        return
    if action not in ("post_remove", "post_clear"):
        return
    if not reverse:
        user_ids = [instance.pk]
    elif action == "post_remove":
        user_ids = list(pk_set or ())
    else:
        user_ids = getattr(instance, "_chat_cleared", [])
    for user_id in user_ids:
        transaction.on_commit(
            partial(broadcast.user_access_changed, user_id), robust=True
        )
