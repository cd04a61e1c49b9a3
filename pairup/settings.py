"""Pair-Up settings, driven by environment variables with embedded defaults.

Every variable is listed in the README and in `.env.example`; the names come
from the README's configuration table.
"""

import os
import re
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
import django
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

DEV_SECRET_KEY = "django-insecure-pairup-development-key-do-not-use-in-production"  # noqa: S105 (refused when DEBUG is off)


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: str) -> bool:
    value = os.environ.get(name, default)
    if value not in ("True", "False"):
        raise ImproperlyConfigured(f"{name} must be 'True' or 'False', got {value!r}")
    return value == "True"


def env_int(name: str, default: str, *, minimum: int = 0) -> int:
    value = os.environ.get(name, default)
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(
            f"{name} must be a whole number, got {value!r}"
        ) from None
    if number < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {number}")
    return number


def env_list(name: str, default: str) -> list[str]:
    return [
        item.strip()
        for item in os.environ.get(name, default).split(",")
        if item.strip()
    ]


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = os.environ.get(name, default)
    if value not in choices:
        raise ImproperlyConfigured(f"{name} must be one of {choices}, got {value!r}")
    return value


def env_site_url(name: str, default: str) -> str:
    """Return `scheme://host[:port]` (http or https), without a trailing slash."""
    value = (os.environ.get(name) or default).strip().rstrip("/")
    problem = f"{name} must be an http(s) address like https://pairup.example.edu"
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 (raises ValueError on a bad port)
    except ValueError:
        raise ImproperlyConfigured(f"{problem}, got {value!r}") from None
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.path
        or parts.query
        or parts.fragment
        or "@" in parts.netloc
    ):
        raise ImproperlyConfigured(
            f"{problem} (scheme, host and port only), got {value!r}"
        )
    return f"{parts.scheme}://{parts.netloc.lower()}"


def parse_durations(name: str, default: str) -> list[timedelta]:
    """Parse comma-separated durations (`24h,1h`, `2d`, `30m`); empty: none.

    Return them longest first, without repeats; junk is an error.
    """
    value = os.environ.get(name, default).strip()
    if not value:
        return []
    units = {"m": "minutes", "h": "hours", "d": "days"}
    durations = set()
    for item in value.split(","):
        match = re.fullmatch(r"\s*(\d+)\s*([mhd])\s*", item)
        if not match or int(match[1]) < 1:
            raise ImproperlyConfigured(
                f"{name} must be comma-separated durations such as '24h,1h' "
                f"(m, h or d; empty disables), got {value!r}"
            )
        durations.add(timedelta(**{units[match[2]]: int(match[1])}))
    return sorted(durations, reverse=True)


def parse_rate(name: str, default: str) -> tuple[int, int] | None:
    """Parse `N/Ms` (N messages per M seconds; `N/s`, `N/m` too) or `off`."""
    value = os.environ.get(name, default).strip()
    if value == "off":
        return None
    match = re.fullmatch(r"(\d+)/(\d*)([smh])", value)
    if not match or int(match[1]) < 1:
        raise ImproperlyConfigured(
            f"{name} must look like '10/10s' (how many per window) or 'off', got {value!r}"
        )
    seconds = int(match[2] or 1) * {"s": 1, "m": 60, "h": 3600}[match[3]]
    return int(match[1]), seconds


DEBUG = env_bool("DJANGO_DEBUG", "False")
# An empty value counts as unset, as in .env.example.
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or DEV_SECRET_KEY
if not DEBUG and SECRET_KEY == DEV_SECRET_KEY:
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY must be set to a real secret when DJANGO_DEBUG=False "
        "(or set DJANGO_DEBUG=True for local development)."
    )
if not DEBUG and (len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5):
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY is too weak: use at least 50 random characters."
    )

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "daphne",
    "pairup.apps.PairUpAdminConfig",  # django.contrib.admin, coordinators only
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "crispy_forms",
    "crispy_bootstrap5",
    "axes",
    "ninja",  # the API docs page: templates and Swagger UI static files
    "accounts",
    "projects",
    "chat",
    "notifications",
]
# Background work (mail, reminders): Django's Tasks framework, run by
# django-tasks-db's worker (`manage.py run_worker`). Django 6 has the
# framework built in; Django 5.2 needs the backport's app too.
if django.VERSION < (6, 0):
    try:
        import django_tasks  # noqa: F401
    except ImportError:
        raise ImproperlyConfigured(
            "Django 5.2 needs the django-tasks backport: "
            "pip install 'django-tasks-db[compat]>=0.13,<0.14'"
        ) from None
    INSTALLED_APPS.append("django_tasks")
INSTALLED_APPS.append("django_tasks_db")
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "pairup.method_page.MethodNotAllowedPageMiddleware",
    # Last, as django-axes asks: it turns a lock-out into its response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "pairup.urls"
ASGI_APPLICATION = "pairup.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "pairup.context_processors.pairup",
                "notifications.context_processors.bell",
            ],
        },
    },
]

# PostgreSQL's connection pool, per process (parsed whatever the database, so
# a junk value fails the start everywhere). README, Configuration, says how
# the default was measured.
_pool_max = env_int("PAIRUP_DB_POOL_MAX", "10", minimum=1)
PAIRUP_DB_POOL = {
    "min_size": min(2, _pool_max),  # kept open while idle
    "max_size": _pool_max,
    # Seconds a request waits for a free connection before a 503.
    "timeout": env_int("PAIRUP_DB_POOL_TIMEOUT", "10", minimum=1),
    # Idle this many seconds, one connection beyond min_size closes.
    "max_idle": env_int("PAIRUP_DB_POOL_MAX_IDLE", "60", minimum=1),
}
DATABASES = {
    # An empty DATABASE_URL counts as unset, as in .env.example.
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}"
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Racing writers queue at BEGIN instead of failing halfway with
    # "database is locked"; WAL lets readers run beside the writer.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # A file, not memory: live-server and thread tests share it. The pid keeps
    # parallel runs on one machine apart.
    DATABASES["default"]["TEST"] = {
        "NAME": str(BASE_DIR / f".test-{os.getpid()}.sqlite3")
    }
    # Reopening the connection on every call costs more than anything else
    # here (chat throughput fell to a fifth): keep one per thread.
    DATABASES["default"]["CONN_MAX_AGE"] = None
else:
    db_name = DATABASES["default"]["NAME"]
    DATABASES["default"]["TEST"] = {"NAME": f"test_{db_name}"}
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # Under ASGI a request may run in a new thread, and a persistent
        # connection per thread piles up past max_connections (issue 13).
        # Each request borrows from a bounded pool per process instead and
        # gives the connection back when it ends (so CONN_MAX_AGE is 0).
        DATABASES["default"]["CONN_MAX_AGE"] = 0
        DATABASES["default"]["OPTIONS"] = {
            "connect_timeout": 5,
            **DATABASES["default"].get("OPTIONS", {}),
            "pool": PAIRUP_DB_POOL,
        }
    else:
        DATABASES["default"]["CONN_MAX_AGE"] = 0  # Django's advice under ASGI
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"
    },
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

LANGUAGE_CODE = "en-au"
TIME_ZONE = env_str("TIME_ZONE", "Australia/Perth")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
# An empty DJANGO_STATIC_ROOT counts as unset, as in .env.example.
STATIC_ROOT = Path(os.environ.get("DJANGO_STATIC_ROOT") or BASE_DIR / "staticfiles")
if DEBUG:
    # `make run`: straight from the app and project folders, so a fresh
    # checkout works before `collectstatic` has run.
    _static_backend = "django.contrib.staticfiles.storage.StaticFilesStorage"
    WHITENOISE_USE_FINDERS = True
else:
    # Production: `collectstatic` (required) writes content-hashed, compressed
    # copies and their manifest to STATIC_ROOT; pages name the hashed files,
    # which WhiteNoise serves with a ten-year, immutable Cache-Control.
    _static_backend = "whitenoise.storage.CompressedManifestStaticFilesStorage"
    WHITENOISE_USE_FINDERS = False
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": _static_backend},
}

# Channels: overflow of a full channel is dropped silently, so the capacity is
# set on purpose (a 50-client burst got 12% of its messages at the default of 100).
PAIRUP_CHANNEL_CAPACITY = env_int("PAIRUP_CHANNEL_CAPACITY", "2000", minimum=1)
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    from redis.exceptions import ConnectionError as RedisConnectionError

    # A connection that a restarted Redis closed fails its next command
    # once: redis-py then reconnects and tries again, so the first message
    # after a restart isn't lost.
    REDIS_RETRY = {"retry_on_error": [RedisConnectionError]}
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                # No socket timeout: on Python 3.11 redis-py's write timeout
                # (asyncio.wait_for) can swallow a task's cancellation, so
                # pairup/layer.py bounds every layer call itself (a Redis that
                # hangs rather than restarts fails a call within 15 s).
                "hosts": [
                    {
                        "address": REDIS_URL,
                        "socket_timeout": None,
                        "socket_connect_timeout": 5,
                        **REDIS_RETRY,
                    }
                ],
                "capacity": PAIRUP_CHANNEL_CAPACITY,
            },
        }
    }
    CACHES = {
        "default": {
            "BACKEND": "pairup.cache.RedisCache",  # one pool per process
            "LOCATION": REDIS_URL,
            # A Redis that hangs fails a request in seconds, not never.
            "OPTIONS": {
                "socket_timeout": 5,
                "socket_connect_timeout": 2,
                **REDIS_RETRY,
            },
        }
    }
else:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels.layers.InMemoryChannelLayer",
            "CONFIG": {"capacity": PAIRUP_CHANNEL_CAPACITY},
        }
    }
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Forms
CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

MESSAGE_TAGS = {40: "danger"}  # Bootstrap's name for messages.ERROR

# Sign-in throttling (django-axes): its defaults are 3 failures, by address
# alone, for ever; a campus shares addresses, so lock the (number, address)
# pair for a while instead.
PAIRUP_LOGIN_FAILURE_LIMIT = env_int("PAIRUP_LOGIN_FAILURE_LIMIT", "5", minimum=1)
PAIRUP_LOGIN_COOLOFF_MINUTES = env_int("PAIRUP_LOGIN_COOLOFF_MINUTES", "15", minimum=1)
# Failed sign-ins from one address, across student numbers, per cool-off
# window (checked before any password is hashed). A unit behind one campus
# NAT makes a few dozen typos at a busy lab start; an attacker gets 50 hashes
# per window instead of thousands.
PAIRUP_LOGIN_ADDRESS_LIMIT = env_int("PAIRUP_LOGIN_ADDRESS_LIMIT", "50", minimum=1)
AXES_FAILURE_LIMIT = PAIRUP_LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = timedelta(minutes=PAIRUP_LOGIN_COOLOFF_MINUTES)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_RESET_ON_SUCCESS = True
# The lock page promises PAIRUP_LOGIN_COOLOFF_MINUTES: a try while locked
# (refused without checking the password) must not start them again.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_VERBOSE = False

# Product settings
PAIRUP_TEAM_SIZE = env_int("PAIRUP_TEAM_SIZE", "2", minimum=1)
PAIRUP_STUDENT_NUMBER_REGEX = env_str("PAIRUP_STUDENT_NUMBER_REGEX", r"^[0-9]{8}$")
try:
    re.compile(PAIRUP_STUDENT_NUMBER_REGEX)
except re.error as error:
    raise ImproperlyConfigured(
        f"PAIRUP_STUDENT_NUMBER_REGEX is not a valid regular expression: {error}"
    ) from None
PAIRUP_REGISTRATION = env_choice("PAIRUP_REGISTRATION", "open", ("open", "roster"))
PAIRUP_BOOKING_CUTOFF_MINUTES = env_int("PAIRUP_BOOKING_CUTOFF_MINUTES", "60")
# Slots a team may rank in a ballot (the booking window's ballot mode).
PAIRUP_BALLOT_CHOICES = env_int("PAIRUP_BALLOT_CHOICES", "10", minimum=1)
PAIRUP_CHAT_RATE = parse_rate("PAIRUP_CHAT_RATE", "10/10s")
# Public rooms one user may open per window (reopening an existing one is free).
PAIRUP_ROOM_OPEN_RATE = parse_rate("PAIRUP_ROOM_OPEN_RATE", "5/h")
PAIRUP_API_TOKEN_HOURS = env_int("PAIRUP_API_TOKEN_HOURS", "1", minimum=1)
# Reminders before a team's slot, e.g. "24h,1h"; empty disables them.
PAIRUP_REMINDERS = parse_durations("PAIRUP_REMINDERS", "24h,1h")
# The unit's name, in the subject of every email ("[COMP1234] ...").
PAIRUP_UNIT_NAME = env_str("PAIRUP_UNIT_NAME", "Pair-Up").strip() or "Pair-Up"

# Email: the console unless a server is configured.
if os.environ.get("EMAIL_HOST"):
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = os.environ["EMAIL_HOST"]
    EMAIL_PORT = env_int("EMAIL_PORT", "587")
    EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_TLS = EMAIL_PORT == 587
    EMAIL_USE_SSL = EMAIL_PORT == 465
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Pair-Up <pairup@localhost>")

# HTTPS behind a proxy
PAIRUP_HTTPS = env_bool("PAIRUP_HTTPS", "False")
if PAIRUP_HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = 31536000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
# The site's address in mailed links (password links): never the request's
# Host header, which a client chooses. Default: the first allowed host.
_first_host = ALLOWED_HOSTS[0] if ALLOWED_HOSTS else "localhost"
if (_first_host.startswith(".") or "*" in _first_host) and not os.environ.get(
    "PAIRUP_SITE_URL"
):
    raise ImproperlyConfigured(
        "Set PAIRUP_SITE_URL (e.g. https://pairup.example.edu): the first "
        f"DJANGO_ALLOWED_HOSTS entry {_first_host!r} is a pattern, not an address."
    )
PAIRUP_SITE_URL = env_site_url(
    "PAIRUP_SITE_URL", f"{'https' if PAIRUP_HTTPS else 'http'}://{_first_host}"
)
# The proxy and monitoring probe each process over plain HTTP on loopback.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
CSRF_FAILURE_VIEW = "pairup.views.csrf_failure"

# Content-Security-Policy: scripts only from our own static files, so an
# injected <script> cannot run even where escaping were ever missed.
# Django 6 has it built in; on 5.2 django-csp provides it.
CSP_DIRECTIVES = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "font-src": ["'self'"],
    "connect-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}
if django.VERSION >= (6, 0):
    MIDDLEWARE.insert(1, "django.middleware.csp.ContentSecurityPolicyMiddleware")
    SECURE_CSP = CSP_DIRECTIVES
else:
    MIDDLEWARE.insert(1, "csp.middleware.CSPMiddleware")
    CONTENT_SECURITY_POLICY = {"DIRECTIVES": CSP_DIRECTIVES}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "axes": {"handlers": ["console"], "level": "WARNING", "propagate": False},
    },
}
