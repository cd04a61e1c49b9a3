from django.contrib import admin
from django.urls import include, path

from pairup import views
from pairup.api import urls as api_urls

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("accounts/", include("accounts.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", api_urls),
    path("", include("projects.urls")),
    path("chat/", include("chat.urls")),
    path("", include("notifications.urls")),
]

handler400 = "pairup.views.bad_request"
handler403 = "pairup.views.permission_denied"
handler404 = "pairup.views.page_not_found"
handler500 = "pairup.views.server_error"
