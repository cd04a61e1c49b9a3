"""A body over DATA_UPLOAD_MAX_MEMORY_SIZE is the API's 413, never a 500
(issue 14, item 6); the pages keep Django's 400."""

import json

import pytest
from django.conf import settings
from django.test import Client

from accounts.tests.api_helpers import ApiClient, assert_error
from projects.models import Invitation, Project

pytestmark = pytest.mark.django_db

OVER = "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)


@pytest.mark.parametrize(
    ("method", "path", "field"),
    [
        ("post", "/me/project", "description"),
        ("patch", "/me", "preferred_name"),
        ("post", "/me/project/invitations", "partner"),
    ],
)
def test_a_body_over_the_limit_is_413_too_large(alice, method, path, field):
    response = getattr(ApiClient(alice), method)(path, {field: OVER})

    body = assert_error(response, 413, "too_large")
    assert "2.5 MiB" in body["detail"]
    alice.refresh_from_db()
    assert alice.preferred_name == ""
    assert not Project.objects.exists()
    assert not Invitation.objects.exists()


def test_a_session_request_over_the_limit_is_413_too(alice):
    client = Client()
    client.force_login(alice)

    response = client.post(
        "/api/v1/me/project",
        json.dumps({"description": OVER}),
        content_type="application/json",
    )

    assert_error(response, 413, "too_large")


def test_too_many_form_fields_are_a_400_not_a_500(alice):
    client = Client(enforce_csrf_checks=True, raise_request_exception=False)
    client.force_login(alice)
    client.get("/accounts/profile/")  # the CSRF cookie: the check reads the form
    fields = "&".join(
        f"f{i}=1" for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1)
    )

    response = client.post(
        "/api/v1/labs/1/book", fields, content_type="application/x-www-form-urlencoded"
    )

    assert_error(response, 400, "invalid")


def test_the_schema_documents_413_with_the_error_body(client):
    schema = client.get("/api/v1/openapi.json").json()

    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            response = operation["responses"].get("413")
            assert response is not None, (method, path)
            ref = response["content"]["application/json"]["schema"]["$ref"]
            assert ref.endswith("/ErrorOut"), (method, path)


def test_a_page_form_over_the_limit_keeps_djangos_400_page(alice):
    client = Client(raise_request_exception=False)
    client.force_login(alice)

    response = client.post("/accounts/profile/", {"preferred_name": OVER})

    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
    alice.refresh_from_db()
    assert alice.preferred_name == ""
