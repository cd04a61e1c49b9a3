"""The coordinator guard: one check and one refusal for services and views.

Services call `require_coordinator(actor, message=...)` as their first
line; views take `@coordinator_required` under `@login_required` (and under
the method decorators, so a wrong method still answers 405 first). Both
raise `CoordinatorRequired`, a `PermissionDenied`: a page answers 403 and
the JSON API answers 403 `forbidden` with the message (`pairup/api.py`).
"""

from functools import wraps

from django.core.exceptions import PermissionDenied

from accounts.selectors import user_is_coordinator

COORDINATORS_ONLY = "Only coordinators may do this."


class CoordinatorRequired(PermissionDenied):
    """Refused: only coordinators may do this (the message says what)."""


def require_coordinator(user, *, message: str = COORDINATORS_ONLY) -> None:
    """Raise `CoordinatorRequired(message)` unless `user` is a coordinator.

    A signed-out user or None is no coordinator.
    """
    if not user_is_coordinator(user):
        raise CoordinatorRequired(message)


def coordinator_required(view=None, *, message: str = "Coordinators only."):
    """Refuse a view (403) to anyone but coordinators, as `login_required`
    does to the signed out; put it under `@login_required`."""

    def decorator(view_func):
        @wraps(view_func)
        def wrapper(request, *args, **kwargs):
            require_coordinator(request.user, message=message)
            return view_func(request, *args, **kwargs)

        return wrapper

    return decorator if view is None else decorator(view)
