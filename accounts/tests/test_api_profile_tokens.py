"""The profile page lists the user's API tokens, each with a revoke button."""

import re
from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from accounts.models import ApiToken
from accounts.services import api_token_create


def test_profile_lists_my_live_tokens_only(client, alice, bob):
    mine, _ = api_token_create(user=alice)
    expired, _ = api_token_create(user=alice)
    ApiToken.objects.filter(pk=expired.pk).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    theirs, _ = api_token_create(user=bob)
    client.force_login(alice)

    response = client.get(reverse("profile"))

    assert response.status_code == 200
    assert list(response.context["api_tokens"]) == [mine]
    assert reverse("api_token_revoke", args=[mine.pk]) in response.text
    assert reverse("api_token_revoke", args=[theirs.pk]) not in response.text


def test_each_revoke_button_names_its_token(client, alice):
    """A screen reader going from button to button hears which token each
    one revokes, not "Revoke" once per token."""
    first, _ = api_token_create(user=alice)
    second, _ = api_token_create(user=alice)
    client.force_login(alice)

    response = client.get(reverse("profile"))

    buttons = re.findall(r"<button[^>]*>(.*?)</button>", response.text, re.S)
    names = [re.sub(r"<[^>]+>", "", b).split() for b in buttons if "Revoke" in b]
    assert [" ".join(n) for n in names] == [
        f"Revoke token {second.prefix}…",
        f"Revoke token {first.prefix}…",
    ]


def test_profile_says_when_there_are_no_tokens(client, alice):
    client.force_login(alice)

    response = client.get(reverse("profile"))

    assert "You have no active API tokens." in response.text


def test_revoke_button_deletes_the_token(client, alice):
    token, key = api_token_create(user=alice)
    client.force_login(alice)

    response = client.post(reverse("api_token_revoke", args=[token.pk]), follow=True)

    assert response.redirect_chain[-1][0] == reverse("profile")
    assert "The API token was revoked." in response.text
    assert not ApiToken.objects.filter(pk=token.pk).exists()
    api = client.get("/api/v1/me", headers={"Authorization": f"Bearer {key}"})
    assert api.status_code == 200  # still signed in by session...
    client.logout()
    api = client.get("/api/v1/me", headers={"Authorization": f"Bearer {key}"})
    assert api.status_code == 401  # ...but the token is gone


def test_outsider_cannot_revoke_anothers_token(client, alice, charlie):
    token, _ = api_token_create(user=alice)
    client.force_login(charlie)

    response = client.post(reverse("api_token_revoke", args=[token.pk]))

    assert response.status_code == 404
    assert ApiToken.objects.filter(pk=token.pk).exists()


def test_anonymous_revoke_redirects_to_sign_in(client, alice):
    token, _ = api_token_create(user=alice)

    response = client.post(reverse("api_token_revoke", args=[token.pk]))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert ApiToken.objects.filter(pk=token.pk).exists()


def test_revoke_by_get_gets_405(client, alice):
    token, _ = api_token_create(user=alice)
    client.force_login(alice)

    response = client.get(reverse("api_token_revoke", args=[token.pk]))

    assert response.status_code == 405
    assert ApiToken.objects.filter(pk=token.pk).exists()


def test_admin_lists_tokens_and_can_revoke_but_not_issue(client, alice, admin_user):
    token, _ = api_token_create(user=alice)
    client.force_login(admin_user)

    listing = client.get("/admin/accounts/apitoken/")
    add = client.get("/admin/accounts/apitoken/add/")
    delete = client.post(
        f"/admin/accounts/apitoken/{token.pk}/delete/", {"post": "yes"}
    )

    assert listing.status_code == 200
    assert token.prefix in listing.text
    assert add.status_code == 403
    assert delete.status_code == 302
    assert not ApiToken.objects.filter(pk=token.pk).exists()
