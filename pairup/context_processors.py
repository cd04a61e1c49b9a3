from django.conf import settings


def pairup(request):
    """Give every template the unit's time zone, registration mode and
    team size."""
    return {
        "PAIRUP_TIME_ZONE": settings.TIME_ZONE,
        "PAIRUP_REGISTRATION": settings.PAIRUP_REGISTRATION,
        # Teams of one (1): nobody has a partner, so no page offers one.
        "PAIRUP_TEAM_SIZE": settings.PAIRUP_TEAM_SIZE,
        "PAIRUP_LOGIN_FAILURE_LIMIT": settings.PAIRUP_LOGIN_FAILURE_LIMIT,
        "PAIRUP_LOGIN_COOLOFF_MINUTES": settings.PAIRUP_LOGIN_COOLOFF_MINUTES,
    }
