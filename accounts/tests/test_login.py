import re

import pytest
from django.conf import settings
from django.template.loader import get_template
from django.urls import reverse

from accounts.tests.factories import PASSWORD

URL = "/accounts/login/"


def test_login_and_logout_urls_are_the_designed_ones():
    assert reverse("login") == URL
    assert reverse("logout") == "/accounts/logout/"


@pytest.mark.django_db
def test_sign_in_page_asks_for_the_student_number(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get(URL)

    assert response.status_code == 200
    assert list(response.context["form"].fields) == ["username", "password"]
    assert response.context["form"].fields["username"].label == "Student number"
    assert f'href="{reverse("password_reset")}"' in response.text


@pytest.mark.django_db
def test_student_signs_in_with_the_student_number(client, alice):
    response = client.post(URL, {"username": "20000001", "password": PASSWORD})

    assert response.status_code == 302
    assert response.url == reverse("home")
    assert int(client.session["_auth_user_id"]) == alice.pk


@pytest.mark.django_db
def test_wrong_password_is_refused_with_a_clear_error(client, alice):
    response = client.post(URL, {"username": "20000001", "password": "wrong"})

    assert response.status_code == 200
    assert "Please enter a correct student number and password." in response.text
    assert 'value="20000001"' in response.text
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_a_failed_sign_in_announces_its_error_to_screen_readers(client, alice):
    response = client.post(URL, {"username": "20000001", "password": "wrong"})

    boxes = re.findall(
        r"<div\b[^>]*\brole=\"alert\"[^>]*>.*?</div>", response.text, re.S
    )
    assert len(boxes) == 1, response.text  # one alert, not one inside another
    assert 'class="alert alert-block alert-danger"' in boxes[0]
    assert "Please enter a correct student number and password." in boxes[0]


def test_the_sites_crispy_error_box_overrides_the_packs():
    origin = get_template("bootstrap5/errors.html").origin.name

    assert origin == str(settings.BASE_DIR / "templates" / "bootstrap5" / "errors.html")


@pytest.mark.django_db
def test_inactive_student_cannot_sign_in(client, alice):
    alice.is_active = False
    alice.save(update_fields=["is_active"])

    response = client.post(URL, {"username": "20000001", "password": PASSWORD})

    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_sign_in_returns_to_the_page_that_asked_for_it(client, alice):
    page = client.get("/accounts/profile/")
    assert page.url == "/accounts/login/?next=/accounts/profile/"
    form = client.get(page.url).text
    # The form posts back to its own URL, query string and all.
    assert re.search(r'<form\s+method="post"\s*>', form)

    response = client.post(page.url, {"username": "20000001", "password": PASSWORD})

    assert response.status_code == 302
    assert response.url == "/accounts/profile/"


@pytest.mark.django_db
def test_a_button_pressed_while_signed_out_leads_past_sign_in_to_a_page(
    client, alice, charlie
):
    """The session ended (signed out in another tab): "Invite" sends the
    student to sign in, whose `next` is the button's POST-only address."""
    pressed = client.post("/projects/mine/invite/", {"partner": charlie.username})
    assert pressed.url == "/accounts/login/?next=/projects/mine/invite/"
    signed_in = client.post(
        pressed.url, {"username": alice.username, "password": PASSWORD}
    )
    assert signed_in.url == "/projects/mine/invite/"

    response = client.get(signed_in.url)

    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert "This address only works from its button" in response.text
    assert "Nothing was done." in response.text
    assert f'href="{reverse("home")}"' in response.text
    assert "Sign out" in response.text  # the site's own page, navbar and all


@pytest.mark.django_db
def test_signed_in_user_on_a_sign_in_link_back_to_itself_goes_to_the_dashboard(
    client, alice
):
    """A bookmarked /accounts/login/?next=/accounts/login/ (the sign-in page
    as its own next) was a server error once signed in."""
    client.force_login(alice)

    response = client.get(URL, {"next": URL})

    assert response.status_code == 302
    assert response.url == reverse("home")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "next_url", ["https://evil.example/", "//evil.example/", "http://testserver.evil/"]
)
def test_sign_in_ignores_a_foreign_next(client, alice, next_url):
    response = client.post(
        URL, {"username": "20000001", "password": PASSWORD, "next": next_url}
    )

    assert response.status_code == 302
    assert response.url == reverse("home")


@pytest.mark.django_db
def test_signed_in_user_on_sign_in_goes_to_the_dashboard(client, alice):
    client.force_login(alice)

    response = client.get(URL)

    assert response.status_code == 302
    assert response.url == reverse("home")


@pytest.mark.django_db
def test_sign_out_is_post_only(client, alice):
    client.force_login(alice)

    response = client.get("/accounts/logout/")

    assert response.status_code == 405
    assert int(client.session["_auth_user_id"]) == alice.pk


@pytest.mark.django_db
def test_sign_out_ends_the_session(client, alice):
    client.force_login(alice)

    response = client.post("/accounts/logout/")

    assert response.status_code == 302
    assert response.url == reverse("home")
    assert "_auth_user_id" not in client.session
    assert client.get("/accounts/profile/").status_code == 302


@pytest.mark.django_db
def test_sign_out_says_so_on_the_page_it_leads_to(client, alice):
    client.force_login(alice)

    response = client.post("/accounts/logout/", follow=True)

    assert response.redirect_chain == [(reverse("home"), 302)]
    assert [str(m) for m in response.context["messages"]] == ["You are signed out."]
    assert "You are signed out." in response.text


@pytest.mark.django_db
def test_every_page_offers_sign_out_as_a_form(client, alice):
    client.force_login(alice)

    response = client.get("/")

    assert f'<form method="post" action="{reverse("logout")}"' in response.text
