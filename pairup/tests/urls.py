"""The real URLconf plus views that fail on purpose, for the error-page tests."""

from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.db import OperationalError
from django.urls import path

from pairup.urls import (  # noqa: F401 (Django looks the handlers up here)
    handler400,
    handler403,
    handler404,
    handler500,
)
from pairup.urls import urlpatterns as pairup_urlpatterns


def boom(request):
    raise RuntimeError("secret-internal-detail")


def forbidden(request):
    raise PermissionDenied


def suspicious(request):
    raise SuspiciousOperation("secret-internal-detail")


def database_busy(request):
    # What a request sees when the pool has no free connection in time.
    raise OperationalError("couldn't get a connection after 10.00 sec")


urlpatterns = [
    *pairup_urlpatterns,
    path("test/boom/", boom),
    path("test/forbidden/", forbidden),
    path("test/suspicious/", suspicious),
    path("test/database-busy/", database_busy),
]
