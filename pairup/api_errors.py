"""The JSON API's error shape, shared by every app's `api.py`.

Every error is `{"code": ..., "detail": ...}`; a 400 adds `errors`, the
messages by field. `pairup/api.py` turns exceptions into these responses:
the services' `ValidationError`s become 409 when a rule refuses the action
(slot just taken, team full, invitation no longer pending, window closed)
and 400 when the input is to blame.
"""

from typing import Annotated

from django.core.exceptions import ValidationError
from ninja import Schema
from pydantic import AfterValidator, ValidationInfo, field_validator

from pairup.text import unstorable_reason

# Service error codes that mean "the state of things refuses this", not
# "the input is wrong": the client may retry later or pick something else.
CONFLICT_CODES = frozenset(
    {
        "already_member",
        "ballot_closed",
        "ballot_open",
        "ballot_pending",
        "ballot_ran",
        "booking_closed",
        "duplicate",
        "has_slot",
        "no_ballot",
        "no_project",
        "no_recipients",
        "no_slot",
        "not_pending",
        "nothing_to_do",
        "plan_changed",
        "project_gone",
        "same_slot",
        "slot_closed",
        "slot_cutoff",
        "slot_gone",
        "slot_past",
        "slot_taken",
        "taken",
        "team_changes_closed",
        "team_full",
    }
)
FORBIDDEN_CODES = frozenset({"forbidden", "not_student"})
# The access functions answer 404 before a service could say these; kept
# so that a slip still never tells an outsider that the object exists.
NOT_FOUND_CODES = frozenset({"not_member", "not_invitee"})

# The largest id a database column holds: larger ones are simply not found.
MAX_ID = 2**63 - 1


class ErrorOut(Schema):
    code: str
    detail: str
    errors: dict[str, list[str]] | None = None


def error_responses(*statuses: int) -> dict[int, type[ErrorOut]]:
    """The documented error responses of an operation, for its `response=`.

    Any request may be malformed (400), come without valid credentials
    (401) or carry a body over DATA_UPLOAD_MAX_MEMORY_SIZE (413,
    `too_large`), so those three are always listed.
    """
    return dict.fromkeys(sorted({400, 401, 413, *statuses}), ErrorOut)


class ApiError(Exception):
    """An error the API answers as it is: status, code and detail."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        errors: dict[str, list[str]] | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.errors = errors
        self.headers = headers or {}


def _no_unstorable_characters(value: str) -> str:
    """Refuse NUL and lone surrogates: no database or encoder takes them."""
    reason = unstorable_reason(value)
    if reason is not None:
        raise ValueError(reason)
    return value


# Text from a request body: anything a database and UTF-8 can hold.
Text = Annotated[str, AfterValidator(_no_unstorable_characters)]


def from_validation_error(error: ValidationError) -> ApiError:
    """Map a service's ValidationError to 400, 403, 404 or 409.

    Field errors go to `errors` ("__all__" for the whole request). Any
    error that is the input's fault makes it a 400, so the client sees
    everything to fix; otherwise a rule code decides.
    """
    if hasattr(error, "error_dict"):
        by_field = error.error_dict.items()
    else:
        by_field = [("__all__", error.error_list)]
    errors: dict[str, list[str]] = {}
    codes: list[str | None] = []
    for field, error_list in by_field:
        for item in error_list:
            codes.append(item.code)
            errors.setdefault(field, []).extend(item.messages)
    detail = " ".join(message for messages in errors.values() for message in messages)
    if not codes:
        return ApiError(400, "invalid", "The request is not valid.")
    if any(code in NOT_FOUND_CODES for code in codes):
        return ApiError(404, "not_found", "Not found.")
    if any(code in FORBIDDEN_CODES for code in codes):
        return ApiError(403, "forbidden", detail)
    by_field = errors if set(errors) != {"__all__"} else None
    if all(code in CONFLICT_CODES for code in codes):
        return ApiError(409, str(codes[0]), detail, errors=by_field)
    return ApiError(400, "invalid", detail, errors=errors)


class QueryFilters(Schema):
    """The query parameters of a GET: an empty value (`?day=`, what an HTML
    form with an empty select sends) is the parameter left out, so it takes
    its default; a malformed value that isn't empty is still a 400."""

    @field_validator("*", mode="before")
    @classmethod
    def _empty_is_left_out(cls, value, info: ValidationInfo):
        if value == "":
            return cls.model_fields[info.field_name].get_default(
                call_default_factory=True
            )
        return value
