"""Helpers for the JSON API tests: bearer tokens and a JSON client."""

import json

from django.test import Client

from accounts.services import api_token_create

API = "/api/v1"


def bearer(user) -> dict[str, str]:
    """Headers that authenticate as the user with a fresh token."""
    _token, key = api_token_create(user=user)
    return {"Authorization": f"Bearer {key}"}


class ApiClient:
    """A Django test client that speaks JSON to /api/v1/ as one user."""

    def __init__(self, user=None, client: Client | None = None):
        self.client = client or Client()
        self.headers = bearer(user) if user is not None else {}

    def request(self, method: str, path: str, data=None, **kwargs):
        headers = {**self.headers, **kwargs.pop("headers", {})}
        if data is not None:
            kwargs["data"] = json.dumps(data)
            kwargs["content_type"] = "application/json"
        return getattr(self.client, method)(f"{API}{path}", headers=headers, **kwargs)

    def get(self, path, **kwargs):
        return self.request("get", path, **kwargs)

    def post(self, path, data=None, **kwargs):
        return self.request("post", path, data, **kwargs)

    def patch(self, path, data=None, **kwargs):
        return self.request("patch", path, data, **kwargs)

    def delete(self, path, **kwargs):
        return self.request("delete", path, **kwargs)

    def put(self, path, data=None, **kwargs):
        return self.request("put", path, data, **kwargs)


def assert_error(response, status: int, code: str | None = None) -> dict:
    """Assert the API's error shape and status; return the body."""
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) >= {"code", "detail"}
    assert body["detail"]
    if code is not None:
        assert body["code"] == code, body
    return body
