"""Same-origin check for WebSockets: scheme, host and port (docs/protocol.md).

Channels' AllowedHostsOriginValidator compares the Origin's host name with
ALLOWED_HOSTS only, so a page on another port or scheme of the same host
(`http://127.0.0.1:8312`, `https://127.0.0.1`) could open a user's sockets
with the user's cookie. This middleware accepts exactly:

- the site's own origin as the request arrived: the scheme of the socket
  (`ws` -> `http`, `wss` -> `https`; behind the proxy with PAIRUP_HTTPS the
  one it forwards in X-Forwarded-Proto, as Django's
  SECURE_PROXY_SSL_HEADER reads it for pages), and host and port from the
  Host header, whose host must also be in ALLOWED_HOSTS (a rebound DNS name
  is not the site);
- or one of CSRF_TRUSTED_ORIGINS (DJANGO_CSRF_TRUSTED_ORIGINS), exactly.

A missing Origin, `Origin: null`, several Origin headers, or anything else
is refused before the consumer runs: a close before accept, which a browser
sees as HTTP 403 at the handshake.
"""

from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host

DEFAULT_PORTS = {"http": 80, "https": 443}
SOCKET_SCHEMES = {"ws": "http", "wss": "https"}

Origin = tuple[str, str, int]  # (scheme, host, port)


def parse_origin(value: str) -> Origin | None:
    """Return (scheme, host, port) of `scheme://host[:port]`, or None.

    Anything else (`null`, a path, a query, credentials, another scheme, a
    bad port) is None. The host is lower-cased; a missing port is the
    scheme's default.
    """
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    if parts.path or parts.query or parts.fragment or "@" in parts.netloc:
        return None
    return parts.scheme, parts.hostname.lower(), port or DEFAULT_PORTS[parts.scheme]


def _headers(scope) -> dict[bytes, list[bytes]]:
    headers: dict[bytes, list[bytes]] = {}
    for name, value in scope.get("headers", []):
        headers.setdefault(name.lower(), []).append(value)
    return headers


def _scheme(scope, headers) -> str:
    """The page scheme the socket arrived on, as Django's is_secure() sees it."""
    scheme = SOCKET_SCHEMES.get(scope.get("scheme", "ws"), "http")
    proxy_header = getattr(settings, "SECURE_PROXY_SSL_HEADER", None)
    if proxy_header:
        name, secure_value = proxy_header
        header = name.removeprefix("HTTP_").replace("_", "-").lower().encode()
        values = headers.get(header)
        if values:
            forwarded = values[0].decode("latin-1").split(",", 1)[0].strip()
            scheme = "https" if forwarded == secure_value else "http"
    return scheme


def _allowed_hosts() -> list[str]:
    hosts = settings.ALLOWED_HOSTS
    if settings.DEBUG and not hosts:  # as Django's own HttpRequest.get_host()
        hosts = [".localhost", "127.0.0.1", "[::1]"]
    return hosts


def site_origin(scope) -> Origin | None:
    """Return the site's own origin for this socket, or None.

    None when the Host header is missing, repeated, malformed, or names a
    host outside ALLOWED_HOSTS.
    """
    headers = _headers(scope)
    hosts = headers.get(b"host", [])
    if len(hosts) != 1:
        return None
    host = hosts[0].decode("latin-1").strip()
    domain, _port = split_domain_port(host)
    if not domain or not validate_host(domain, _allowed_hosts()):
        return None
    return parse_origin(f"{_scheme(scope, headers)}://{host}")


def origin_allowed(scope) -> bool:
    """Return whether the socket's Origin is the site's own or a trusted one."""
    origins = _headers(scope).get(b"origin", [])
    if len(origins) != 1:
        return False
    origin = parse_origin(origins[0].decode("latin-1"))
    if origin is None:
        return False
    if origin == site_origin(scope):
        return True
    return any(
        origin == parse_origin(trusted) for trusted in settings.CSRF_TRUSTED_ORIGINS
    )


class SameOriginValidator:
    """ASGI middleware: pass a WebSocket on only when `origin_allowed`."""

    def __init__(self, application):
        self.application = application

    async def __call__(self, scope, receive, send):
        if scope["type"] != "websocket":
            raise ValueError("SameOriginValidator is for WebSocket connections.")
        if origin_allowed(scope):
            return await self.application(scope, receive, send)
        return await WebsocketDenier()(scope, receive, send)
