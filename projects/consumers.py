"""The live lab board socket, `/ws/labs/` (server to client only)."""

import contextlib
import logging

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from accounts import revocation
from pairup.internals import RawSocket
from projects.realtime import LABS_GROUP

logger = logging.getLogger(__name__)


class LabBoardConsumer(AsyncJsonWebsocketConsumer):
    """Send each `lab` frame of design.md to every signed-in board."""

    user = None
    session_key = None
    accepting = False
    refused = False  # access ended during the handshake
    in_group = False

    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close()
            return
        self.user = user
        self.session_key = getattr(self.scope.get("session"), "session_key", None)
        RawSocket(self.base_send).prepare()
        try:
            await revocation.watch(self, user.pk)
            await self.channel_layer.group_add(LABS_GROUP, self.channel_name)
            self.in_group = True
            valid = await database_sync_to_async(revocation.session_is_valid)(
                session_key=self.session_key, user_id=user.pk
            )
        except Exception:
            logger.warning("a lab board socket could not join", exc_info=True)
            valid = False
        if not valid or self.refused:
            await self.leave()
            await self.close()
            return
        self.accepting = True
        await self.accept()  # last, once everything above succeeded

    async def disconnect(self, code):
        await self.leave()

    async def leave(self):
        if self.in_group:
            self.in_group = False
            with contextlib.suppress(Exception):
                await self.channel_layer.group_discard(LABS_GROUP, self.channel_name)
        if self.user is not None:
            await revocation.unwatch(self, self.user.pk)

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        # Channels' JSON consumer would raise on a binary or non-JSON frame and
        # drop the socket; the board sends nothing, so every frame is refused.
        await self.send_json(
            {
                "type": "error",
                "code": "bad_request",
                "detail": "This socket only sends lab updates.",
            }
        )

    async def lab_update(self, event):  # handles "lab.update"
        await self.send_json(event["frame"])

    async def revoked(self, code: int) -> None:
        """The user's access ended (sign-out, password, deactivation)."""
        if not self.accepting:
            self.refused = True  # `connect` refuses the handshake
            return
        with contextlib.suppress(Exception):
            await self.close(code=code)
