"""The admin calls itself Pair-Up, not "Django administration"."""

import pytest

pytestmark = pytest.mark.django_db


def test_the_admin_index_says_pair_up(client, dana):
    client.force_login(dana)

    response = client.get("/admin/")

    assert response.status_code == 200
    assert "<title>Run the unit | Pair-Up admin</title>" in response.text
    assert '<a href="/admin/">Pair-Up</a>' in response.text
    assert "Django administration" not in response.text
    assert "Django site admin" not in response.text


def test_the_admin_sign_in_page_says_pair_up(client):
    response = client.get("/admin/login/")

    assert "Pair-Up" in response.text
    assert "Django administration" not in response.text
