"""The JSON API at /api/v1/: every app's `api.py` router, mounted here.

Errors are always JSON `{"code", "detail"}` (a 400 adds `errors` by
field), with the status that says what happened: 400 input, 401 no or bad
credentials, 403 not allowed, 404 missing or not yours, 405 wrong method,
409 refused by a rule, 413 body too large, 429 throttled. No input
answers 500.
"""

import logging

from django.conf import settings
from django.core.exceptions import (
    PermissionDenied,
    RequestDataTooBig,
    SuspiciousOperation,
)
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from django.urls import re_path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe
from ninja import NinjaAPI, Swagger
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from accounts.api import BearerAuth, SessionAuth
from accounts.api import router as accounts_router
from accounts.permissions import CoordinatorRequired
from chat.api import router as chat_router
from notifications.api import router as notifications_router
from pairup.api_errors import ApiError, from_validation_error
from projects.api import coordinator_router
from projects.api import router as projects_router
from projects.ballot_api import router as ballot_router

logger = logging.getLogger(__name__)

api = NinjaAPI(
    title="Pair-Up API",
    version="1",
    description=(
        "Everything a student does on the pages, for scripts. Get a token with "
        "`POST /api/v1/tokens` (HTTP Basic: student number and password) and "
        "send it as `Authorization: Bearer <token>`. The site's own pages use "
        "the session cookie and the X-CSRFToken header."
    ),
    urls_namespace="api-v1",
    auth=[BearerAuth(), SessionAuth()],
    # The docs page loads Swagger UI from django-ninja's static files (no
    # CDN, no inline script); the validator badge would call out, so it's off.
    docs=Swagger(settings={"validatorUrl": None}),
)

api.add_router("", accounts_router)
api.add_router("", projects_router)
api.add_router("", ballot_router)
api.add_router("/coordinator", coordinator_router)
api.add_router("", chat_router)
api.add_router("", notifications_router)


def _error(request, status, code, detail, *, errors=None, headers=None):
    body = {"code": code, "detail": detail}
    if errors:
        body["errors"] = errors
    response = api.create_response(request, body, status=status)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


@api.exception_handler(ApiError)
def _api_error(request, exc: ApiError):
    return _error(
        request,
        exc.status,
        exc.code,
        exc.detail,
        errors=exc.errors,
        headers=exc.headers,
    )


NO_BODY = "Send a JSON object as the body."


def _field_name(loc) -> str:
    """`["body", "payload", "email"]` -> `email`; `["query", "day"]` -> `day`;
    `["body", "payload"]` (the body itself, named by the view) -> `__all__`."""
    parts = [str(part) for part in loc]
    if parts and parts[0] == "body":
        parts = parts[2:]
    elif parts:
        parts = parts[1:]
    return ".".join(parts) or "__all__"


@api.exception_handler(NinjaValidationError)
def _input_error(request, exc: NinjaValidationError):
    errors: dict[str, list[str]] = {}
    for error in exc.errors:
        field = _field_name(error.get("loc", ()))
        message = str(error.get("msg", "Invalid value."))
        if field == "__all__" and error.get("type") == "missing":
            message = NO_BODY
        errors.setdefault(field, []).append(message)
    detail = "; ".join(
        " ".join(msgs) if field == "__all__" else f"{field}: {' '.join(msgs)}"
        for field, msgs in errors.items()
    )
    return _error(request, 400, "invalid", detail, errors=errors)


@api.exception_handler(DjangoValidationError)
def _service_error(request, exc: DjangoValidationError):
    return _api_error(request, from_validation_error(exc))


@api.exception_handler(AuthenticationError)
def _unauthenticated(request, exc):
    if request.path.rstrip("/").endswith("/tokens"):
        scheme = "Basic"
        detail = (
            "Wrong or missing credentials: send your student number and password "
            "as HTTP Basic credentials."
        )
    else:
        scheme = "Bearer"
        detail = "Sign in: send a valid bearer token (POST /api/v1/tokens gives one)."
    return _error(
        request,
        401,
        "unauthorized",
        detail,
        headers={"WWW-Authenticate": f'{scheme} realm="Pair-Up"'},
    )


@api.exception_handler(HttpError)
def _http_error(request, exc: HttpError):
    codes = {400: "invalid", 403: "forbidden", 404: "not_found", 429: "throttled"}
    return _error(
        request, exc.status_code, codes.get(exc.status_code, "error"), str(exc)
    )


@api.exception_handler(Http404)
def _not_found(request, exc):
    return _error(request, 404, "not_found", "Not found.")


@api.exception_handler(PermissionDenied)
def _forbidden(request, exc):
    return _error(request, 403, "forbidden", "You may not do this.")


@api.exception_handler(CoordinatorRequired)
def _not_coordinator(request, exc: CoordinatorRequired):
    # The coordinator guard's refusal says what only coordinators may do.
    return _error(request, 403, "forbidden", str(exc))


@api.exception_handler(RequestDataTooBig)
def _too_large(request, exc):
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return _error(
        request,
        413,
        "too_large",
        f"The request body is over the limit of {limit:,} bytes "
        f"({limit / 1024 / 1024:g} MiB).",
    )


@api.exception_handler(SuspiciousOperation)
def _suspicious(request, exc):
    # As Django answers them outside the API (e.g. too many form fields).
    return _error(request, 400, "invalid", "The request could not be read.")


@api.exception_handler(Exception)
def _server_error(request, exc):
    logger.exception("API error on %s %s", request.method, request.path)
    return _error(request, 500, "server_error", "Something went wrong on our side.")


# URLs ---------------------------------------------------------------------


def _without_body(response):
    """A HEAD answer: the GET's status and headers, no body; Content-Length
    says how long the GET's body is."""
    if response.streaming:
        response.streaming_content = []
    else:
        response["Content-Length"] = str(len(response.content))
        response.content = b""
    return response


def _api_view(view):
    """Every API URL: HEAD answered as GET without the body, and a wrong
    method answered in JSON (django-ninja knows no HEAD, and answers a
    wrong method in plain text)."""

    def wrapper(request, *args, **kwargs):
        head = request.method == "HEAD"
        if head:
            # HTTP: HEAD is GET without the body. django-ninja routes by
            # method, so the GET operation answers; the schema lists none.
            request.method = "GET"
            try:
                response = view(request, *args, **kwargs)
            finally:
                request.method = "HEAD"
        else:
            response = view(request, *args, **kwargs)
        if response.status_code == 405 and "Allow" in response:
            allowed = response["Allow"].split(", ")
            if "GET" in allowed and "HEAD" not in allowed:
                allowed.insert(allowed.index("GET") + 1, "HEAD")
            response = JsonResponse(
                {
                    "code": "method_not_allowed",
                    "detail": f"{request.method} is not allowed here; use "
                    f"{', '.join(allowed)}.",
                },
                status=405,
            )
            response["Allow"] = ", ".join(allowed)
        return _without_body(response) if head else response

    wrapper.csrf_exempt = True  # ninja's views check CSRF in SessionAuth
    return wrapper


@csrf_exempt  # it acts on nothing: a typo must not look like a refusal
def _unknown_path(request, rest=""):
    return JsonResponse(
        {"code": "not_found", "detail": "No such API endpoint."}, status=404
    )


# django-ninja serves its schema and docs page to any method.
READ_ONLY_ROUTES = frozenset({"openapi-json", "openapi-view"})


def _urlpatterns():
    patterns, _app_name, _namespace = api.urls
    for pattern in patterns:
        if pattern.name in READ_ONLY_ROUTES:
            pattern.callback = require_safe(pattern.callback)
        pattern.callback = _api_view(pattern.callback)
    return [*patterns, re_path(r"^(?P<rest>.*)$", _api_view(_unknown_path))]


# Mounted by pairup/urls.py: path("api/v1/", urls).
urls = (_urlpatterns(), "ninja", api.urls_namespace)
