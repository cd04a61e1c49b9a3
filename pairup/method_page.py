"""A page for a GET that a POST-only address refuses (405).

Django's `require_POST` answers with an empty body, which a browser shows as
a blank page. A person gets there by following a link to a button's address,
most often after signing in: a button pressed while signed out sends them to
the sign-in page with the button's address as `next`.
"""

from django.template.response import TemplateResponse
from django.utils.deprecation import MiddlewareMixin


class MethodNotAllowedPageMiddleware(MiddlewareMixin):
    def process_response(self, request, response):
        if (
            response.status_code == 405
            and request.method == "GET"
            and not response.streaming
            and not response.content
        ):
            page = TemplateResponse(request, "405.html", status=405)
            page["Allow"] = response["Allow"]
            return page.render()
        return response
