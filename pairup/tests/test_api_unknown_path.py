"""An unknown path under /api/v1/ is the API's JSON 404 for every method,
never the page CSRF failure (issue 14, also tighten)."""

import pytest
from django.test import Client

from accounts.tests.api_helpers import assert_error

pytestmark = pytest.mark.django_db

METHODS = ["get", "post", "put", "patch", "delete", "options"]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("signed_in", [False, True], ids=["anonymous", "session"])
def test_an_unknown_api_path_is_json_404_for_every_method(alice, method, signed_in):
    client = Client(enforce_csrf_checks=True)
    if signed_in:
        client.force_login(alice)

    response = getattr(client, method)("/api/v1/no-such/endpoint")

    body = assert_error(response, 404, "not_found")
    assert body["detail"] == "No such API endpoint."


def test_a_known_endpoint_still_checks_csrf_for_a_session(alice):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)

    response = client.patch(
        "/api/v1/me", '{"preferred_name": "Al"}', content_type="application/json"
    )

    assert_error(response, 403, "csrf_failed")
    alice.refresh_from_db()
    assert alice.preferred_name == ""
