"""ASGI entry point: HTTP through Django, WebSockets through Channels."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pairup.settings")
# Before importing anything that touches models.
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from chat.routing import websocket_urlpatterns as chat_routes  # noqa: E402
from pairup.http_limit import HttpConcurrencyLimit  # noqa: E402
from pairup.routing import catch_all  # noqa: E402
from projects.routing import websocket_urlpatterns as projects_routes  # noqa: E402

websocket_urlpatterns = [*chat_routes, *projects_routes, catch_all]

application = ProtocolTypeRouter(
    {
        "http": HttpConcurrencyLimit(django_asgi_app),
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
    }
)
