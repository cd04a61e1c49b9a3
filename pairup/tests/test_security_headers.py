"""Content-Security-Policy and friends, on Django 5.2 (django-csp) and 6."""

import re

import pytest
from django.test import Client

PAGES = [
    ("/", False),
    ("/", True),
    ("/accounts/login/", False),
    ("/accounts/register/", False),
    ("/accounts/profile/", True),
]


def policy(response) -> dict[str, list[str]]:
    header = response.headers["Content-Security-Policy"]
    return {
        name: values
        for name, *values in (
            part.split() for part in header.split(";") if part.strip()
        )
    }


@pytest.mark.django_db
@pytest.mark.parametrize(("url", "signed_in"), PAGES)
def test_policy_allows_scripts_only_from_this_site(client, alice, url, signed_in):
    if signed_in:
        client.force_login(alice)

    response = client.get(url)

    directives = policy(response)
    assert directives["script-src"] == ["'self'"]
    assert directives["default-src"] == ["'self'"]
    assert directives["object-src"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert "'unsafe-inline'" not in response.headers["Content-Security-Policy"]
    assert "'unsafe-eval'" not in response.headers["Content-Security-Policy"]


@pytest.mark.django_db
def test_error_pages_carry_the_policy_too():
    response = Client().get("/no/such/page/")

    assert response.status_code == 404
    assert policy(response)["script-src"] == ["'self'"]


@pytest.mark.django_db
@pytest.mark.parametrize(("url", "signed_in"), PAGES)
def test_pages_have_no_inline_script(client, alice, url, signed_in):
    """Inline script would be blocked by the policy, so none may be needed."""
    if signed_in:
        client.force_login(alice)

    response = client.get(url)

    assert response.status_code == 200
    html = response.text

    scripts = re.findall(r"<script\b([^>]*)>", html)
    assert scripts
    for attrs in scripts:
        assert 'src="/static/' in attrs or 'type="application/json"' in attrs
    assert not re.search(r"\son[a-z]+=", html), "inline event handler"


@pytest.mark.django_db
def test_pages_refuse_framing_and_sniffing(client):
    response = client.get("/")

    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
