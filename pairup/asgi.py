"""ASGI entry point: HTTP through Django, WebSockets through Channels."""

import os

from pairup.handler import get_asgi_application
from pairup.http_limit import HTTP_CONCURRENCY, HttpConcurrencyLimit

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pairup.settings")
# Before importing anything that touches models.
# Django's ASGI handler, with its threads reused (pairup/handler.py).
django_asgi_app = get_asgi_application(threads=HTTP_CONCURRENCY)

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from chat.routing import websocket_urlpatterns as chat_routes  # noqa: E402
from notifications.routing import (  # noqa: E402
    websocket_urlpatterns as notifications_routes,
)
from pairup.origin import SameOriginValidator  # noqa: E402
from pairup.routing import catch_all  # noqa: E402
from projects.routing import websocket_urlpatterns as projects_routes  # noqa: E402

websocket_urlpatterns = [
    *chat_routes,
    *projects_routes,
    *notifications_routes,
    catch_all,
]

application = ProtocolTypeRouter(
    {
        "http": HttpConcurrencyLimit(django_asgi_app),
        # Same origin: scheme, host and port (pairup/origin.py), not only
        # the host as Channels' AllowedHostsOriginValidator checks.
        "websocket": SameOriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
    }
)
