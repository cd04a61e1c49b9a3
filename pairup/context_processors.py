from django.conf import settings


def pairup(request):
    """Give every template the unit's time zone and registration mode."""
    return {
        "PAIRUP_TIME_ZONE": settings.TIME_ZONE,
        "PAIRUP_REGISTRATION": settings.PAIRUP_REGISTRATION,
        "PAIRUP_LOGIN_FAILURE_LIMIT": settings.PAIRUP_LOGIN_FAILURE_LIMIT,
        "PAIRUP_LOGIN_COOLOFF_MINUTES": settings.PAIRUP_LOGIN_COOLOFF_MINUTES,
    }
