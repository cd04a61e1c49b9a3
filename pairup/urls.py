from django.contrib import admin
from django.urls import include, path

from pairup import views

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/", include("accounts.urls")),
    path("admin/", admin.site.urls),
]

handler400 = "pairup.views.bad_request"
handler403 = "pairup.views.permission_denied"
handler404 = "pairup.views.page_not_found"
handler500 = "pairup.views.server_error"
