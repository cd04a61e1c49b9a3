"""WebSockets from the site's own origin only: scheme, host and port
(issue 14, item 7), through pairup.asgi.application for both socket paths."""

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from pairup.origin import parse_origin
from pairup.tests.helpers import session_cookie

pytestmark = pytest.mark.django_db(transaction=True)

PATHS = ["/ws/chat/lobby/", "/ws/labs/"]


@pytest.fixture(autouse=True)
def lobby(db):
    from chat.models import Room

    Room.objects.get_or_create(slug="lobby", defaults={"name": "Lobby"})


async def opens(user, path, *headers, scheme=None) -> bool:
    """Return whether a socket with these headers gets through the handshake."""
    from pairup.asgi import application

    cookie = await sync_to_async(session_cookie)(user)
    communicator = WebsocketCommunicator(
        application,
        path,
        headers=[*headers, (b"cookie", f"sessionid={cookie}".encode())],
    )
    if scheme is not None:
        communicator.scope["scheme"] = scheme
    connected, _ = await communicator.connect(timeout=5)
    await communicator.disconnect()
    return connected


def host(value: str):
    return (b"host", value.encode())


def origin(value: str):
    return (b"origin", value.encode())


@pytest.mark.parametrize("path", PATHS)
async def test_the_sites_own_origin_opens_the_socket(alice, path):
    assert await opens(
        alice, path, host("127.0.0.1:8000"), origin("http://127.0.0.1:8000")
    )


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(
    "page",
    [
        "http://127.0.0.1:8312",  # another port of the same host
        "https://127.0.0.1:8000",  # another scheme
        "https://127.0.0.1",
        "http://127.0.0.1",  # port 80, not 8000
        "http://localhost:8000",  # another host, even an allowed one
        "http://evil.example",
        "null",
        "http://127.0.0.1:8000/page",  # not an origin
        "ws://127.0.0.1:8000",
    ],
)
async def test_any_other_origin_is_refused_at_the_handshake(alice, path, page):
    assert not await opens(alice, path, host("127.0.0.1:8000"), origin(page))


@pytest.mark.parametrize("path", PATHS)
async def test_a_missing_origin_or_host_is_refused(alice, path):
    assert not await opens(alice, path, host("127.0.0.1:8000"))
    assert not await opens(alice, path, origin("http://127.0.0.1:8000"))


async def test_two_origin_headers_are_refused(alice):
    assert not await opens(
        alice,
        "/ws/chat/lobby/",
        host("127.0.0.1:8000"),
        origin("http://127.0.0.1:8000"),
        origin("http://evil.example"),
    )


async def test_a_host_outside_allowed_hosts_is_refused_even_as_its_own_origin(alice):
    # A rebound DNS name: the attacker's page is "same origin" with itself.
    assert not await opens(
        alice, "/ws/chat/lobby/", host("evil.example"), origin("http://evil.example")
    )


async def test_the_default_port_may_be_spelled_or_not(alice):
    assert await opens(
        alice, "/ws/labs/", host("127.0.0.1"), origin("http://127.0.0.1:80")
    )
    assert await opens(
        alice, "/ws/labs/", host("localhost:80"), origin("http://LOCALHOST")
    )


async def test_a_wss_socket_is_the_https_origin(alice):
    assert await opens(
        alice,
        "/ws/chat/lobby/",
        host("127.0.0.1:8443"),
        origin("https://127.0.0.1:8443"),
        scheme="wss",
    )
    assert not await opens(
        alice,
        "/ws/chat/lobby/",
        host("127.0.0.1:8443"),
        origin("http://127.0.0.1:8443"),
        scheme="wss",
    )


@pytest.fixture
def behind_https_proxy(settings):
    """PAIRUP_HTTPS=True: the proxy's X-Forwarded-Proto gives the scheme."""
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.ALLOWED_HOSTS = ["pairup.example.edu"]


@pytest.mark.parametrize("path", PATHS)
async def test_behind_the_proxy_the_forwarded_scheme_counts(
    alice, behind_https_proxy, path
):
    site = host("pairup.example.edu")
    https = (b"x-forwarded-proto", b"https")

    assert await opens(alice, path, site, https, origin("https://pairup.example.edu"))
    assert not await opens(
        alice, path, site, https, origin("http://pairup.example.edu")
    )
    assert not await opens(
        alice,
        path,
        site,
        (b"x-forwarded-proto", b"http"),
        origin("https://pairup.example.edu"),
    )


async def test_without_pairup_https_a_forwarded_scheme_is_not_trusted(alice):
    assert not await opens(
        alice,
        "/ws/chat/lobby/",
        host("127.0.0.1:8000"),
        (b"x-forwarded-proto", b"https"),
        origin("https://127.0.0.1:8000"),
    )


@pytest.mark.parametrize("path", PATHS)
async def test_csrf_trusted_origins_are_accepted_exactly(alice, settings, path):
    settings.CSRF_TRUSTED_ORIGINS = ["https://proxy.example.edu"]
    site = host("127.0.0.1:8000")

    assert await opens(alice, path, site, origin("https://proxy.example.edu"))
    assert await opens(alice, path, site, origin("https://proxy.example.edu:443"))
    assert not await opens(alice, path, site, origin("http://proxy.example.edu"))
    assert not await opens(alice, path, site, origin("https://proxy.example.edu:8443"))
    assert not await opens(alice, path, site, origin("https://a.proxy.example.edu"))


@pytest.mark.parametrize(
    ("value", "parsed"),
    [
        ("http://127.0.0.1:8000", ("http", "127.0.0.1", 8000)),
        ("HTTPS://Example.EDU", ("https", "example.edu", 443)),
        ("http://[::1]:8000", ("http", "::1", 8000)),
        ("null", None),
        ("", None),
        ("http://", None),
        ("http://example.edu:99999", None),
        ("http://user@example.edu", None),
        ("http://example.edu?x=1", None),
        ("file:///etc", None),
    ],
)
def test_parse_origin_takes_scheme_host_and_port_only(value, parsed):
    assert parse_origin(value) == parsed
