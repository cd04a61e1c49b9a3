from django.http import HttpResponseServerError
from django.shortcuts import render
from django.template import loader
from django.views.decorators.http import require_GET


@require_GET
def home(request):
    """Show the landing page, or the signed-in user's dashboard."""
    if not request.user.is_authenticated:
        return render(request, "landing.html")
    return render(request, "dashboard.html")


def bad_request(request, exception=None):
    return render(request, "400.html", status=400)


def permission_denied(request, exception=None):
    return render(request, "403.html", status=403)


def page_not_found(request, exception=None):
    return render(request, "404.html", status=404)


def server_error(request):
    # No request context: the failure may be the database the user lookup
    # needs, and an error page must not fail in turn.
    return HttpResponseServerError(loader.get_template("500.html").render())


def csrf_failure(request, reason=""):
    return render(request, "403_csrf.html", status=403)
