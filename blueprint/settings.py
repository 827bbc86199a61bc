"""One settings module, driven by the environment.

Nothing set: SQLite and the in-memory channel layer, DEBUG on, so a clone runs at once.
Production: DEBUG=0, SECRET_KEY, ALLOWED_HOSTS, DATABASE_URL (PostgreSQL) and REDIS_URL
(channels_redis). A value that cannot be understood stops the start with ImproperlyConfigured.
"""

from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from decisioning.limits import LIMITS

BASE_DIR = Path(__file__).resolve().parent.parent

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not understood: use 1/0, true/false, yes/no or on/off.")


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a whole number.") from None


DEBUG = env_bool("DEBUG", True)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off (50 or more random characters).")
    SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production-0123456789abcdef"
elif not DEBUG and len(SECRET_KEY) < 50:
    raise ImproperlyConfigured("SECRET_KEY is too short for production: use 50 or more random characters.")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"] if DEBUG else [])
if not DEBUG and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must be set when DEBUG is off (comma-separated host names).")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "channels",
    "rest_framework",
    "knox",
    "axes",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "template_partials",
    "csp",
    "blueprint",
    "blueprint.accounts",
    "decisioning",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # a view stopped because its client left answers an empty 499, not a logged 500
    "blueprint.serving.StoppedMiddleware",
    # last, as django-axes asks: a log-in refused for too many failures becomes its 429 page
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "blueprint.urls"
ASGI_APPLICATION = "blueprint.asgi.application"
WSGI_APPLICATION = None

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
                "csp.context_processors.nonce",
            ],
        },
    }
]

# --- Database -------------------------------------------------------------------------------
DATABASE_URL = os.environ.get("DATABASE_URL", "").strip()
if DATABASE_URL:
    if not DATABASE_URL.startswith(("postgres://", "postgresql://", "sqlite://")):
        raise ImproperlyConfigured(
            "DATABASE_URL must be a PostgreSQL URL (postgresql://user:password@host:5432/name) "
            "or a sqlite:// URL."
        )
    try:
        _db = dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60))
    except Exception as exc:  # dj_database_url raises several kinds for a malformed URL
        raise ImproperlyConfigured(f"DATABASE_URL could not be read: {exc}") from None
    if not _db.get("NAME"):
        raise ImproperlyConfigured(
            "DATABASE_URL names no database: end it with the database's name, as in "
            "postgresql://user:password@host:5432/name."
        )
    DATABASES: dict[str, Any] = {"default": _db}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("SQLITE_PATH", str(BASE_DIR / "db.sqlite3")),
            # Keep connections: reopening one per query is slow, and closing the last one
            # checkpoints the WAL — the live board's database thread would spend its time on that.
            "CONN_MAX_AGE": env_int("DB_CONN_MAX_AGE", 60),
            "OPTIONS": {
                # WAL and a busy timeout let the ASGI server's threads write without "database is locked";
                # synchronous=FULL: an edit acknowledged to anyone survives a power cut, not only a restart.
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Channel layer --------------------------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "").strip()
if REDIS_URL:
    if not REDIS_URL.startswith(("redis://", "rediss://", "unix://")):
        raise ImproperlyConfigured("REDIS_URL must look like redis://host:6379/0 (or rediss://, unix://).")
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "capacity": 1500, "expiry": 30},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# The cache holds what processes must share: the API's throttle counts. One process: its memory;
# with REDIS_URL (several processes), Redis.
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Heavy API requests a person may make (blueprint/api/throttles.py): "<n>/<second|minute|hour|day>"
# (or s, min, h, d); "off" for none.
_heavy_rate = os.environ.get("API_HEAVY_RATE", "120/min").strip().lower()
if not re.fullmatch(
    r"off|none|0|[1-9][0-9]{0,6}/(s|sec|second|m|min|minute|h|hour|d|day)", _heavy_rate.lower()
):
    raise ImproperlyConfigured(
        f"API_HEAVY_RATE={_heavy_rate!r} is not understood: use e.g. 120/min, 2/second, 5000/day or off."
    )
API_HEAVY_RATE: str | None = None if _heavy_rate.lower() in ("off", "none", "0") else _heavy_rate

# --- Serving (blueprint/serving.py, README "Serving") ----------------------------------------
# uvicorn runs WEB_CONCURRENCY processes (it reads the variable itself); each serves HTTP requests on
# HTTP_THREADS long-lived threads, one request per thread at a time. The in-memory channel layer
# lives in one process, so several processes need REDIS_URL.
WEB_CONCURRENCY = env_int("WEB_CONCURRENCY", 1)
if WEB_CONCURRENCY < 1:
    raise ImproperlyConfigured("WEB_CONCURRENCY must be 1 or more (the number of server processes).")
if WEB_CONCURRENCY > 1 and not REDIS_URL:
    raise ImproperlyConfigured(
        f"WEB_CONCURRENCY={WEB_CONCURRENCY} needs REDIS_URL: the board's live updates must reach every "
        "process, and the in-memory channel layer lives in one."
    )
HTTP_THREADS = env_int("HTTP_THREADS", 4)
if not 1 <= HTTP_THREADS <= 64:
    raise ImproperlyConfigured("HTTP_THREADS must be from 1 to 64 (threads per server process).")
# Requests that analyse a whole board (the lint, explanations, the simulator, the board page,
# exports) run in LANE_PROCESSES processes of each serving process's own (blueprint/lane.py), so
# they never hold the GIL of the process answering decides; 0 runs them on the request threads.
LANE_PROCESSES = env_int("LANE_PROCESSES", 1)
if not 0 <= LANE_PROCESSES <= 16:
    raise ImproperlyConfigured(
        "LANE_PROCESSES must be from 0 to 16 (heavy-request processes per server process)."
    )
# The ceiling of any request's body, checked before it is read (blueprint.serving): the largest body
# the table of limits lets any endpoint take. Each endpoint holds its own, smaller limit.
HTTP_MAX_BODY_BYTES = max(LIMITS.batch_body_bytes, LIMITS.import_body_bytes, LIMITS.json_body_bytes)
# The largest WebSocket message uvicorn reads; above the table's socket_frame_bytes, so a frame
# between the two is refused by the board's consumer with a message naming the limit.
WS_MAX_MESSAGE_BYTES = 16 * LIMITS.socket_frame_bytes

# The live board's clocks. The browser's (ms): a ping every `ping`, offline when no pong comes
# within `pongWait`, reconnects backing off from `retryFirst` to `retryMax`, unsaved forms sent
# again after `formRetry`. The server's (s): each tab re-announces itself, re-checks its access and
# is told the rev every LIVE_HEARTBEAT_SECONDS, and a tab nobody heard of for
# LIVE_PRESENCE_EXPIRES_SECONDS is forgotten. The tests' servers make them short.
LIVE_TIMINGS: dict[str, int] = {}
LIVE_HEARTBEAT_SECONDS = 15.0
LIVE_PRESENCE_EXPIRES_SECONDS = 45.0
# The lint panel follows a burst of edits this long after its last render (blueprint.live.hub.LintPush):
# half a second keeps a busy board's lint current while leaving the CPU to the edits themselves.
LIVE_LINT_SECONDS = 0.5

# --- Auth -----------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/blueprints/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

# django-axes counts every failed log-in — the log-in page, the admin's and the API's auth/token/ —
# in one store (the database, shared by every worker), by account and by address: after
# LOGIN_FAILURE_LIMIT failures for either within LOGIN_COOLOFF_MINUTES, log-ins for it are refused
# with 429 and Retry-After until that long after the last counted failure, the right password too.
# A successful log-in forgives the failures of that account from that address only (see
# blueprint/accounts/throttle.py); attempts during a lock-out do not extend it.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 10)
LOGIN_COOLOFF_MINUTES = env_int("LOGIN_COOLOFF_MINUTES", 15)
if not 1 <= LOGIN_FAILURE_LIMIT <= 1000:
    raise ImproperlyConfigured(f"LOGIN_FAILURE_LIMIT={LOGIN_FAILURE_LIMIT} must be from 1 to 1000.")
if not 1 <= LOGIN_COOLOFF_MINUTES <= 7 * 24 * 60:
    raise ImproperlyConfigured(
        f"LOGIN_COOLOFF_MINUTES={LOGIN_COOLOFF_MINUTES} must be from 1 to 10080 (a week)."
    )
AXES_FAILURE_LIMIT = LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = timedelta(minutes=LOGIN_COOLOFF_MINUTES)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_HANDLER = "blueprint.accounts.throttle.LoginAttempts"
AXES_CLIENT_IP_CALLABLE = "blueprint.accounts.throttle.client_address"
AXES_LOCKOUT_CALLABLE = "blueprint.views.accounts.login_locked_out"
AXES_DISABLE_ACCESS_LOG = True  # successful log-ins are not kept: nothing reads them
AXES_VERBOSE = False
# Behind a reverse proxy (BEHIND_PROXY=1), the address is the one the proxy appended to
# X-Forwarded-For: LOGIN_PROXY_COUNT proxies from the right (what a client sends itself is ignored).
BEHIND_PROXY = env_bool("BEHIND_PROXY", False)
LOGIN_PROXY_COUNT = env_int("LOGIN_PROXY_COUNT", 1)
if LOGIN_PROXY_COUNT < 1:
    raise ImproperlyConfigured(f"LOGIN_PROXY_COUNT={LOGIN_PROXY_COUNT} must be 1 or more.")

# API tokens (django-rest-knox with our model): every token expires. API_TOKEN_DAYS is the lifetime
# of a token from POST auth/token/ and the default of auth/tokens/; at most API_TOKEN_MAX_DAYS.
API_TOKEN_DAYS = env_int("API_TOKEN_DAYS", 30)
API_TOKEN_MAX_DAYS = env_int("API_TOKEN_MAX_DAYS", 365)
if not 1 <= API_TOKEN_MAX_DAYS <= 3650:
    raise ImproperlyConfigured(f"API_TOKEN_MAX_DAYS={API_TOKEN_MAX_DAYS} must be from 1 to 3650.")
if not 1 <= API_TOKEN_DAYS <= API_TOKEN_MAX_DAYS:
    raise ImproperlyConfigured(f"API_TOKEN_DAYS={API_TOKEN_DAYS} must be from 1 to API_TOKEN_MAX_DAYS.")
KNOX_TOKEN_MODEL = "accounts.ApiToken"
# knox's migrations would make the table of its own token model even though ours replaces it
MIGRATION_MODULES = {"knox": None}
REST_KNOX = {
    "TOKEN_MODEL": KNOX_TOKEN_MODEL,
    "TOKEN_TTL": timedelta(days=API_TOKEN_DAYS),
    "AUTH_HEADER_PREFIX": "Token",
}

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files ---------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [
    BASE_DIR / "static",
    # Third-party JavaScript comes from the npm registry (package.json + lock), never copied in.
    ("vendor/sortablejs", BASE_DIR / "node_modules" / "sortablejs" / "modular"),
    ("vendor/panzoom", BASE_DIR / "node_modules" / "@panzoom" / "panzoom" / "dist"),
]
WHITENOISE_USE_FINDERS = DEBUG
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# --- Request bodies: from the one table of limits (decisioning/limits.py, README "Limits") -----
DATA_UPLOAD_MAX_MEMORY_SIZE = LIMITS.json_body_bytes
DATA_UPLOAD_MAX_NUMBER_FIELDS = LIMITS.form_fields  # a board form at the limits has this many
DECIDE_BATCH_MAX_BYTES = LIMITS.batch_body_bytes

# --- API ------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "blueprint.api.auth.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_THROTTLE_CLASSES": ["blueprint.api.throttles.HeavyThrottle"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "blueprint.api.errors.api_exception_handler",
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Blueprint API",
    "DESCRIPTION": "Draw a personalization strategy as a blueprint: stages, offers, conditions.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/v1/",
    # Swagger UI from the drf-spectacular-sidecar package: no CDN, and the CSP allows only 'self'.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # request bodies: no undeclared fields, no texts the parser or the services refuse
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "blueprint.api.openapi.request_shapes",
        "blueprint.api.openapi.real_examples",
    ],
    # one name per choice set: a version's status, and an export's (which may also be "draft")
    "ENUM_NAME_OVERRIDES": {
        "VersionStatusEnum": ["in_review", "approved", "rejected", "superseded"],
        "ExportStatusEnum": ["draft", "in_review", "approved", "rejected", "superseded"],
    },
}

# --- Security -------------------------------------------------------------------------------
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Behind a reverse proxy (BEHIND_PROXY, above): trust its X-Forwarded-Proto (HTTPS), and let uvicorn
# take the client's address for its log from the X-Forwarded-For of proxies in FORWARDED_ALLOW_IPS.
FORWARDED_ALLOW_IPS = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if BEHIND_PROXY else None
X_FRAME_OPTIONS = "DENY"

# The board's own scripts are ES modules from /static/; htmx is told not to inject its inline
# indicator styles (see base.html), so neither scripts nor styles need 'unsafe-inline'.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    }
}

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    # django-axes says every log-in at INFO; its failures and lock-outs are WARNINGs
    "loggers": {"django.db.backends": {"level": "INFO"}, "axes": {"level": "WARNING"}},
}
