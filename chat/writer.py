"""One writer per process: posts that queue while a batch is being stored
go into the next batch, one transaction for all of them.

Every socket's message goes through `post()`; the service
(`message_post_many`) does the checks and the storing, and broadcasts each
room's new messages after commit, so nothing unstored is ever sent.
"""

import asyncio
import logging
import weakref

from channels.db import database_sync_to_async
from django.core.exceptions import ValidationError

from chat.services import message_post, message_post_many

logger = logging.getLogger(__name__)

BATCH_MAX = 500
# Past this many waiting posts the database is stalled: refuse clearly.
QUEUE_MAX = 5000


class Writer:
    def __init__(self):
        self.queue: list[tuple] = []
        self.task: asyncio.Task | None = None

    async def post(self, *, author, room, text):
        """Store the post; return its Message or raise ValidationError."""
        if len(self.queue) >= QUEUE_MAX:
            raise ValidationError(
                "The chat is busy: try again in a moment.",
                code="rate_limited",
                params={"retry_after": 1},
            )
        future = asyncio.get_running_loop().create_future()
        self.queue.append((author, room, text, future))
        if self.task is None:
            self.task = asyncio.create_task(self._run())
        return await future

    async def _run(self):
        try:
            while self.queue:
                batch, self.queue = self.queue[:BATCH_MAX], self.queue[BATCH_MAX:]
                try:
                    results = await database_sync_to_async(message_post_many)(
                        posts=[(author, room, text) for author, room, text, _ in batch]
                    )
                except Exception:
                    # e.g. a room deleted meanwhile: store the others one by one.
                    logger.exception("storing %d messages at once failed", len(batch))
                    results = [
                        await database_sync_to_async(_post_one)(author, room, text)
                        for author, room, text, _future in batch
                    ]
                for (_author, _room, _text, future), result in zip(
                    batch, results, strict=True
                ):
                    if future.done():
                        continue
                    if isinstance(result, ValidationError):
                        future.set_exception(result)
                    else:
                        future.set_result(result)
        finally:
            self.task = None


def _post_one(author, room, text):
    try:
        return message_post(author=author, room=room, text=text)
    except ValidationError as error:
        return error
    except Exception:
        logger.exception("storing a message failed")
        return ValidationError("That message could not be stored.", code="bad_request")


_writers: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Writer]" = (
    weakref.WeakKeyDictionary()
)


async def post(*, author, room, text):
    """Queue a post for this process's writer; return the stored Message.

    Raise ValidationError (empty, too_long, bad_request, muted, rate_limited).
    """
    loop = asyncio.get_running_loop()
    writer = _writers.get(loop)
    if writer is None:
        writer = _writers[loop] = Writer()
    return await writer.post(author=author, room=room, text=text)
