"""The API's error mapping, its schema and its docs page."""

import json
import re

import pytest
from django.contrib.staticfiles import finders
from django.core.exceptions import ValidationError

from accounts.tests.api_helpers import ApiClient, assert_error
from pairup.api_errors import from_validation_error

# Mapping service errors ---------------------------------------------------


@pytest.mark.parametrize(
    "code",
    [
        "slot_taken",
        "team_full",
        "not_pending",
        "booking_closed",
        "team_changes_closed",
        "already_member",
        "project_gone",
        "slot_gone",
    ],
)
def test_rule_refusals_map_to_409_with_their_code(code):
    error = from_validation_error(ValidationError("Refused.", code=code))

    assert (error.status, error.code, error.detail) == (409, code, "Refused.")


def test_field_errors_map_to_400_listed_by_field():
    error = from_validation_error(
        ValidationError({"description": "Too long.", "partner": "Unknown."})
    )

    assert (error.status, error.code) == (400, "invalid")
    assert error.errors == {"description": ["Too long."], "partner": ["Unknown."]}


def test_a_field_error_beside_a_conflict_is_still_a_400():
    error = from_validation_error(
        ValidationError(
            {
                "description": ValidationError("Too long.", code="max_length"),
                "lab": ValidationError("Taken.", code="slot_taken"),
            }
        )
    )

    assert error.status == 400
    assert set(error.errors) == {"description", "lab"}


def test_a_field_keyed_conflict_keeps_its_code_and_field():
    error = from_validation_error(
        ValidationError({"partner": ValidationError("Full.", code="team_full")})
    )

    assert (error.status, error.code, error.errors) == (
        409,
        "team_full",
        {"partner": ["Full."]},
    )


def test_errors_without_a_code_are_input_errors():
    assert from_validation_error(ValidationError("Bad.")).status == 400


def test_not_a_member_never_tells_that_the_object_exists():
    error = from_validation_error(ValidationError("No.", code="not_member"))

    assert (error.status, error.detail) == (404, "Not found.")


def test_not_a_student_is_403():
    assert (
        from_validation_error(ValidationError("No.", code="not_student")).status == 403
    )


# Responses ------------------------------------------------------------------


def test_unknown_api_path_gets_json_404(client):
    assert_error(client.get("/api/v1/no/such/thing"), 404, "not_found")


def test_non_numeric_id_gets_json_404_or_400_never_html(alice):
    response = ApiClient(alice).post("/labs/abc/book")

    assert response.status_code in (400, 404)
    assert_error(response, response.status_code)


def test_wrong_method_gets_json_405_with_allow(alice):
    response = ApiClient(alice).delete("/labs")

    body = assert_error(response, 405, "method_not_allowed")
    assert response["Allow"] == "GET, HEAD"
    assert "DELETE" in body["detail"]


@pytest.mark.parametrize("path", ["/api/v1/docs", "/api/v1/openapi.json"])
@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_the_docs_and_schema_refuse_unsafe_methods_with_json_405(
    client, db, path, method
):
    response = getattr(client, method)(path)

    assert_error(response, 405, "method_not_allowed")
    assert response["Allow"] == "GET, HEAD"


def test_validation_errors_are_400_not_422(alice):
    response = ApiClient(alice).get("/labs?limit=abc&offset=-1")

    body = assert_error(response, 400, "invalid")
    assert set(body["errors"]) == {"limit", "offset"}


def test_wrong_body_type_gets_400(alice):
    response = ApiClient(alice).post("/me/project", ["not", "an", "object"])

    assert_error(response, 400, "invalid")


@pytest.mark.parametrize(
    ("method", "path"), [("put", "/me/project/ballot"), ("patch", "/me/project")]
)
def test_a_missing_body_is_an_error_of_the_whole_request(alice, method, path):
    response = getattr(ApiClient(alice), method)(path)

    body = assert_error(response, 400, "invalid")
    # Not "payload", the view's parameter: the client sent no such field.
    assert body["errors"] == {"__all__": ["Send a JSON object as the body."]}
    assert body["detail"] == "Send a JSON object as the body."


def test_lone_surrogate_in_a_body_gets_400_not_500(alice):
    response = ApiClient(alice).client.post(
        "/api/v1/me/project",
        '{"description": "\\ud800"}',
        content_type="application/json",
        headers=ApiClient(alice).headers,
    )

    body = assert_error(response, 400)
    assert "description" in body["errors"]


def test_nul_in_a_query_gets_400_not_500(alice):
    assert_error(ApiClient(alice).get("/students?q=ab%00cd"), 400)


def test_unexpected_failure_is_a_json_500_without_details(alice, monkeypatch):
    from projects import selectors

    def broken(**kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(selectors, "lab_facts_list", broken)

    response = ApiClient(alice).get("/labs")

    body = assert_error(response, 500, "server_error")
    assert "secret" not in response.text
    assert "errors" not in body


def test_bad_bearer_token_gets_401_not_a_crash(db):
    client = ApiClient()
    for header in ["Bearer", "Bearer ", "Bearer \u00e9\u00e9", "Token abc", "Basic x"]:
        assert_error(client.get("/me", headers={"Authorization": header}), 401)


# Schema and docs -------------------------------------------------------------


def test_schema_is_served_and_lists_every_resource(client):
    response = client.get("/api/v1/openapi.json")

    assert response.status_code == 200
    schema = response.json()
    paths = schema["paths"]
    for path in [
        "/api/v1/tokens",
        "/api/v1/tokens/current",
        "/api/v1/me",
        "/api/v1/labs",
        "/api/v1/labs/{lab_id}/book",
        "/api/v1/me/project",
        "/api/v1/me/project/lab",
        "/api/v1/me/invitations",
        "/api/v1/me/project/invitations",
        "/api/v1/invitations/{invitation_id}/accept",
        "/api/v1/students",
        "/api/v1/schedule",
        "/api/v1/coordinator/summary",
        "/api/v1/coordinator/students.csv",
    ]:
        assert path in paths, path
    schemes = schema["components"]["securitySchemes"]
    assert {s.get("scheme") for s in schemes.values()} >= {"bearer", "basic"}
    errors = paths["/api/v1/labs/{lab_id}/book"]["post"]["responses"]
    assert {"401", "404", "409"} <= set(errors)


def test_schema_has_no_duplicate_keys(client):
    """Swagger UI refuses a schema with a key twice (an int and a str 200)."""

    def no_duplicates(pairs):
        keys = [key for key, _ in pairs]
        assert len(keys) == len(set(keys)), keys
        return dict(pairs)

    json.loads(
        client.get("/api/v1/openapi.json").content, object_pairs_hook=no_duplicates
    )


def test_csv_exports_are_documented_as_csv(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]

    ok = paths["/api/v1/coordinator/students.csv"]["get"]["responses"]["200"]
    assert list(ok["content"]) == ["text/csv"]


def test_docs_page_uses_local_files_only(client):
    response = client.get("/api/v1/docs")

    assert response.status_code == 200
    html = response.text
    assert "cdn" not in html.lower()
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources
    assert all(src.startswith("/static/") for src in sources), sources
    for src in sources:
        assert finders.find(src.removeprefix("/static/")), src
    # No inline script: the settings are a JSON data block, the code is a file.
    inline = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", html)
    assert all('type="application/json"' in attrs for attrs in inline), inline


def test_docs_page_csp_allows_only_own_scripts(client):
    response = client.get("/api/v1/docs")

    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
