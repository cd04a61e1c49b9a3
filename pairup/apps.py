from django.contrib.admin.apps import AdminConfig


class PairUpAdminConfig(AdminConfig):
    default_site = "pairup.admin.PairUpAdminSite"
