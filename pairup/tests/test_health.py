"""`/healthz`: 200 when the database and Redis (if configured) answer, else
503 naming what failed; no sign-in, no session, no redirect."""

import json
import socket
from unittest import mock

import pytest
from django.db import OperationalError
from django.test import Client

from pairup import health
from pairup.tests.browser import free_port

pytestmark = pytest.mark.django_db


@pytest.fixture
def no_redis(settings):
    settings.REDIS_URL = ""


def test_healthz_answers_ok_without_redis_configured(client, no_redis):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert json.loads(response.content) == {
        "status": "ok",
        "database": "ok",
        "redis": "not configured",
    }


def test_healthz_needs_no_sign_in_and_touches_no_session(client, no_redis):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert not response.cookies
    assert not response.wsgi_request.session.accessed
    assert "no-store" in response["Cache-Control"]


def test_healthz_answers_head_too(client, no_redis):
    assert client.head("/healthz").status_code == 200


def test_healthz_is_not_redirected_to_https_when_probed_over_http(
    client, no_redis, settings
):
    settings.SECURE_SSL_REDIRECT = True

    assert client.get("/").status_code == 301
    assert client.get("/healthz").status_code == 200


def test_healthz_is_503_naming_the_database_when_it_fails(no_redis):
    broken = mock.Mock(pool=None)
    broken.cursor.side_effect = OperationalError("connection refused: secret-host")

    with mock.patch.object(health, "connection", broken):
        response = Client().get("/healthz")

    assert response.status_code == 503
    assert json.loads(response.content) == {
        "status": "fail",
        "database": "OperationalError",
        "redis": "not configured",
    }
    assert b"secret-host" not in response.content
    assert b"Traceback" not in response.content


def test_healthz_is_503_naming_redis_when_nothing_listens(client, settings):
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"

    response = client.get("/healthz")

    assert response.status_code == 503
    assert json.loads(response.content) == {
        "status": "fail",
        "database": "ok",
        "redis": "ConnectionError",
    }


def test_healthz_gives_up_on_a_redis_that_accepts_but_never_answers(
    client, settings, monkeypatch
):
    """A frozen Redis must not hang the probe for redis-py's default."""
    monkeypatch.setattr(health, "TIMEOUT", 0.2)
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        settings.REDIS_URL = f"redis://127.0.0.1:{silent.getsockname()[1]}/0"

        response = client.get("/healthz")

    assert response.status_code == 503
    assert json.loads(response.content)["redis"] == "TimeoutError"
