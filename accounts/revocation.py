"""Closing a user's open sockets when their access ends (code 4401).

A socket's access is checked when it connects, so signing out, a password
change, a deactivation and deleting the account each publish a
`socket.close` event to the user's group (`pairup/layer.py`), and every
socket of the user, in every process, closes. Every consumer (chat, lab
board, `/ws/me/`):

1. calls `watch(consumer, user_id)` first in `connect`: the socket is in the
   user's group before anything else is awaited, and in every process's once
   it returns;
2. then checks the session again (`session_is_valid`): a sign-out that
   happened before step 1 has ended the session, so no window remains;
3. mixes in `Revocable` (its `revoked(code)` closes an accepted socket, and
   makes `connect` refuse the handshake otherwise: `connect` sets
   `accepting` just before it accepts, and refuses when `refused` is set),
   and has `user` and `session_key`.

The receivers are connected in AccountsConfig.ready(). After a layer outage
(events may have been lost) every watched socket's session is checked again.
"""

import contextlib
from functools import partial
from importlib import import_module

from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.db import transaction
from django.utils.crypto import constant_time_compare

from pairup.layer import listener, publish

CLOSE_REVOKED = 4401


class Revocable:
    """The socket side of the contract: what a consumer does when its user's
    access ends (see the module's docstring)."""

    accepting = False  # set by `connect` just before it accepts
    refused = False  # access ended during the handshake: refuse it
    closing = False

    async def revoked(self, code: int) -> None:
        """The user's access ended (sign-out, password, deactivation)."""
        if not self.accepting:
            self.refused = True  # `connect` refuses the handshake
            return
        if not self.closing:
            self.closing = True
            with contextlib.suppress(Exception):
                await self.close(code=code)


def user_group(user_id: int) -> str:
    return f"user-{user_id}"


def revoke_user_sockets(user_id: int) -> None:
    """Close every socket the user holds, in every process (4401)."""
    publish(user_group(user_id), {"type": "socket.close", "code": CLOSE_REVOKED})


async def watch(consumer, user_id: int) -> None:
    """Close the consumer (`consumer.revoked(code)`) when the user's access
    ends. Raise LayerUnavailable if the other processes can't be joined."""
    live = listener()
    live.subscribe_nowait(user_group(user_id), consumer, partial(_revoke, consumer))
    if _revalidate not in live.on_up:
        live.on_up.append(_revalidate)
    await live.join(user_group(user_id))


async def unwatch(consumer, user_id: int) -> None:
    await listener().unsubscribe(user_group(user_id), consumer)


async def _revoke(consumer, event: dict) -> None:
    # The user's group carries other apps' per-user events too.
    if event.get("type") == "socket.close":
        await consumer.revoked(event["code"])


def session_is_valid(*, session_key: str | None, user_id: int) -> bool:
    """Return whether the session still signs in the user: it exists, the
    account is active, and the password has not changed since."""
    if not session_key:
        return False
    store = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    data = store.load()
    if str(data.get(SESSION_KEY)) != str(user_id):
        return False
    user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return False
    stored = data.get(HASH_SESSION_KEY) or ""
    hashes = [user.get_session_auth_hash(), *user.get_session_auth_fallback_hash()]
    return any(constant_time_compare(stored, known) for known in hashes)


def _invalid(watched: list[tuple]) -> list:
    return [
        consumer
        for consumer, session_key, user_id in watched
        if not session_is_valid(session_key=session_key, user_id=user_id)
    ]


async def _revalidate() -> None:
    """Check every watched socket's session again (after a layer outage)."""
    live = listener()
    watched = [
        (consumer, consumer.session_key, consumer.user.pk)
        for group, members in list(live.subscribers.items())
        if group.startswith("user-")
        for consumer in members
        # Other apps subscribe to the user's group too, under keys of their
        # own (the notifications socket): only watched consumers count.
        if hasattr(consumer, "revoked")
    ]
    if not watched:
        return
    for consumer in await database_sync_to_async(_invalid)(watched):
        await consumer.revoked(CLOSE_REVOKED)


# Receivers ---------------------------------------------------------------------


def user_signed_out(sender, request, user, **kwargs):
    if user is None or user.pk is None:
        return
    # End the session now, before the sockets are told: a handshake that
    # checks it after this sees it gone (Django's logout flushes it next).
    session = getattr(request, "session", None)
    if session is not None and session.session_key:
        session.delete()
    transaction.on_commit(partial(revoke_user_sockets, user.pk))


def user_pre_save(sender, instance, raw=False, update_fields=None, **kwargs):
    """Note whether this save changes the password or deactivates the user.

    A password set with `set_password` (page, reset, admin) carries Django's
    `_password` mark until saved; a hash upgraded at sign-in doesn't, and
    keeps the sockets open. Disabling the password counts as a change.
    """
    instance._revoke_sockets = False
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
    new_password = old["password"] != instance.password and (
        getattr(instance, "_password", None) is not None
        or not instance.has_usable_password()
    )
    instance._revoke_sockets = new_password or (
        old["is_active"] and not instance.is_active
    )


def user_deleted(sender, instance, **kwargs):
    """Close the sockets of a deleted account (its sessions end with it)."""
    transaction.on_commit(partial(revoke_user_sockets, instance.pk))


def user_saved(sender, instance, created, **kwargs):
    """Close the user's sockets after a password change or a deactivation."""
    if getattr(instance, "_revoke_sockets", False):
        instance._revoke_sockets = False
        transaction.on_commit(partial(revoke_user_sockets, instance.pk))
