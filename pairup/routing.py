from channels.generic.websocket import AsyncWebsocketConsumer
from django.urls import re_path


class RefuseConsumer(AsyncWebsocketConsumer):
    """Refuse a socket on an unknown path at the handshake (HTTP 403).

    A bare URLRouter raises on an unknown path and daphne answers 500.
    """

    async def connect(self):
        await self.close()


catch_all = re_path(r"", RefuseConsumer.as_asgi())
