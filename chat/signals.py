"""Signal receivers, connected in ChatConfig.ready()."""

from functools import partial

from django.db import transaction

from chat import realtime


def project_saved(sender, instance, created, raw=False, **kwargs):
    """Give every new team its room from the moment it exists."""
    if created and not raw:
        from chat.services import room_create_for_project

        room_create_for_project(project=instance)


def room_deleted(sender, instance, **kwargs):
    """Close the room's open sockets (4404) once the deletion is committed."""
    transaction.on_commit(partial(realtime.room_close, instance.pk))


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
            partial(realtime.room_close_user, room_id, instance.user_id)
        )


def user_signed_out(sender, request, user, **kwargs):
    if user is not None and user.pk is not None:
        transaction.on_commit(partial(realtime.revoke_user_sockets, user.pk))


def user_pre_save(sender, instance, raw=False, update_fields=None, **kwargs):
    """Note whether this save changes the password or deactivates the user."""
    instance._chat_revoke = False
    if raw or instance.pk is None:
        return
    if update_fields is not None and not {"password", "is_active"} & set(update_fields):
        return
    old = (
        sender._default_manager.filter(pk=instance.pk)
        .values("password", "is_active")
        .first()
    )
    if old is None:
        return
    instance._chat_revoke = old["password"] != instance.password or (
        old["is_active"] and not instance.is_active
    )


def user_saved(sender, instance, created, **kwargs):
    """Close the user's sockets after a password change or a deactivation."""
    if getattr(instance, "_chat_revoke", False):
        instance._chat_revoke = False
        transaction.on_commit(partial(realtime.revoke_user_sockets, instance.pk))
