"""Settings shared by every environment; the only place that reads the environment."""

from datetime import timedelta
from pathlib import Path

import environ
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"


class Env(environ.Env):
    def count(self, var: str, *, default: int, minimum: int) -> int:
        """A whole number, refused in one line when it is not one (or below `minimum`)."""
        raw = str(self(var, default=str(default))).strip()
        try:
            value = int(raw)
        except ValueError:
            value = None
        if value is None or value < minimum:
            raise ImproperlyConfigured(
                f"{var} must be a whole number of at least {minimum} (got {raw!r})"
            )
        return value


env = Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)


# The demo's key, committed on purpose; production.py refuses to start with it.
DEMO_SECRET_KEY = "insecure-demo-key-change-me-in-production"
SECRET_KEY = env("DJANGO_SECRET_KEY", default=DEMO_SECRET_KEY)
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "template_partials",
    "axes",
    "orgs",
    "accounts",
    "health",
    "playbooks",
    "triggers",
    "surveys",
    "lifecycle",
    "workspace",
    "reports",
    "api",
    "configuration",
    "operations",
]

MIDDLEWARE = [
    # Outermost: an unreachable database or broker is the 503 page, wherever it was met.
    "csplatform.middleware.ServiceUnavailableMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # After sessions, before CommonMiddleware (Django's order): the browser's language for
    # every page; orgs.middleware.LanguageMiddleware refines it once the user is known.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "csplatform.middleware.PrivatePagesMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "csplatform.middleware.SessionIdleMiddleware",
    "orgs.middleware.TenantMiddleware",
    # The user's language, else the organization's; and the organization's number formats.
    "orgs.middleware.LanguageMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "csplatform.urls"
WSGI_APPLICATION = "csplatform.wsgi.application"

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
                "orgs.context_processors.tenancy",
                "operations.context_processors.nightly_banner",
            ],
        },
    },
]

# DATABASE_URL: sqlite:///path (the embedded demo default) or postgres://user:pass@host:port/name.
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'demo.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the demo's web server read while a backfill writes; IMMEDIATE avoids
    # "database is locked" on write transactions that start as reads.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
        }
    )
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DATABASE_CONN_MAX_AGE", default=60))
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# accounts.UsageMetric's unique index covers `value` on PostgreSQL; on SQLite, where INCLUDE is
# not supported, migration 0002 creates the plain unique index instead (W039). Constraints
# with NULLS NOT DISTINCT (an indicator's window, a forecast cell's persona or product) are
# enforced by PostgreSQL only; the embedded SQLite demo does without them (W047).
SILENCED_SYSTEM_CHECKS = ["models.W039", "models.W047"]
AUTH_USER_MODEL = "orgs.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# django-axes first: it refuses a locked-out login before any password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

# Sessions end after this many minutes without a request. SessionIdleMiddleware moves the
# expiry forward at most once a minute, so a page's burst of htmx requests writes nothing.
SESSION_IDLE_MINUTES = env.count("CSPLATFORM_SESSION_IDLE_MINUTES", default=60, minimum=1)
SESSION_COOKIE_AGE = SESSION_IDLE_MINUTES * 60
SESSION_IDLE_REFRESH_SECONDS = min(60, SESSION_COOKIE_AGE // 2)

# Failed logins (django-axes, recorded in the database): LOGIN_FAILURE_LIMIT failures for one
# username from one address, or LOGIN_ADDRESS_FAILURE_LIMIT for any usernames from one
# address, pause logging in from there for LOGIN_LOCKOUT_MINUTES after the last failure. The
# pause ends by itself; a refused attempt during it does not prolong it. A successful login
# clears that username's failures from that address (csplatform/login.py).
LOGIN_FAILURE_LIMIT = env.count("CSPLATFORM_LOGIN_FAILURE_LIMIT", default=5, minimum=1)
LOGIN_ADDRESS_FAILURE_LIMIT = env.count(
    "CSPLATFORM_LOGIN_ADDRESS_FAILURE_LIMIT", default=20, minimum=1
)
LOGIN_LOCKOUT_MINUTES = env.count("CSPLATFORM_LOGIN_LOCKOUT_MINUTES", default=15, minimum=1)
# Reverse proxies in front of the site that append the client's address to X-Forwarded-For;
# 0 means the client's address is REMOTE_ADDR (production.py defaults it to 1 behind a proxy).
PROXY_COUNT = env.count("CSPLATFORM_PROXY_COUNT", default=0, minimum=0)
AXES_ENABLED = True
AXES_HANDLER = "csplatform.login.LoginAttemptHandler"
AXES_FAILURE_LIMIT = LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = timedelta(minutes=LOGIN_LOCKOUT_MINUTES)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "ip_address"]
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_CALLABLE = "csplatform.login.lockout_response"
AXES_CLIENT_IP_CALLABLE = "csplatform.login.client_ip"
# Successful logins are not kept in a table that grows for ever; the log has them.
AXES_DISABLE_ACCESS_LOG = True

# Headers on every response, in every environment. The CSP allows nothing inline: templates
# load scripts and styles from static/ only, charts read json_script data, htmx is told not to
# inject its indicator styles (templates/base.html), and the favicon is a data: URL.
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
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("pt-br", "Português (Brasil)")]
TIME_ZONE = "UTC"
USE_I18N = True
# The catalogues (locale/<lang>/LC_MESSAGES/django.po, compiled to .mo by `make env`).
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# Celery: REDIS_URL set means a real broker and separate workers; unset means tasks run
# in-process (the embedded demo default), so the demo needs no services at all.
REDIS_URL = env("REDIS_URL", default="")
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_RESULT_BACKEND = REDIS_URL
    CELERY_TASK_ALWAYS_EAGER = False
else:
    CELERY_BROKER_URL = "memory://"
    CELERY_RESULT_BACKEND = "cache+memory://"
    CELERY_TASK_ALWAYS_EAGER = True
    CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_TIMEOUT = 5
# A worker that dies mid-task leaves its message unacknowledged; Redis redelivers it after
# the visibility timeout. Task time limits are kept well under it (see csplatform/celery.py).
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_RESULT_EXPIRES = 24 * 3600
# When the nightly pipeline starts, in the server's TIME_ZONE (UTC).
NIGHTLY_HOUR = env.int("CSPLATFORM_NIGHTLY_HOUR", default=2)
NIGHTLY_MINUTE = env.int("CSPLATFORM_NIGHTLY_MINUTE", default=0)
# Daily usage on PostgreSQL is partitioned by month (csplatform/db/partitions.py): the night
# creates this month's partition and this many ahead before it scores (docs/scaling.md).
USAGE_PARTITION_MONTHS_AHEAD = env.count(
    "CSPLATFORM_USAGE_PARTITION_MONTHS_AHEAD", default=2, minimum=1
)
# Raw daily usage kept, in days (empty: everything, the default). Whole months older than this
# are rolled up into monthly totals (accounts.UsageMonth) by the night and dropped; indicator
# windows and backtests that would read further back are refused. At least a year, so the
# default indicators (the usage trend reads 210 days) always have their days.
USAGE_RAW_RETENTION_MIN_DAYS = 365
USAGE_RAW_RETENTION_DAYS = (
    env.count(
        "CSPLATFORM_USAGE_RAW_RETENTION_DAYS", default=0, minimum=USAGE_RAW_RETENTION_MIN_DAYS
    )
    if env("CSPLATFORM_USAGE_RAW_RETENTION_DAYS", default="").strip()
    else None
)
# Accounts per health-scoring chunk: one Celery task each, so more workers, shorter night.
HEALTH_CHUNK_SIZE = env.int("CSPLATFORM_HEALTH_CHUNK_SIZE", default=10000)
# The nightly sweeper (triggers/services/sweep.py, beat every NIGHTLY_SWEEP_SECONDS): a chunk a
# worker started holds a lease of its hard time limit (csplatform/celery.py: 720 s); once it
# expires and no live transaction holds the chunk's row, its worker is gone and the chunk is
# queued again. A hand-off (a queued chunk, a finished stage's next one) not picked up within
# NIGHTLY_SWEEP_OLDER_THAN seconds is sent again. A night unfinished NIGHTLY_LATE_SECONDS after
# it started is late: a banner on the admins' home and a notification.
# A firing queued by the weekly cap that has waited longer than this many days (since it
# fired) expires in the night's release instead of reaching a CSM weeks late.
TRIGGER_QUEUE_EXPIRY_DAYS = 14
NIGHTLY_CHUNK_LEASE_SECONDS = 720
NIGHTLY_SWEEP_SECONDS = 180
NIGHTLY_SWEEP_OLDER_THAN = 600
NIGHTLY_LATE_SECONDS = 2 * 3600
# The sweeper also starts a night beat should have started and did not (off in the tests,
# whose sweeps would otherwise start tonight's runs for every organization they create).
NIGHTLY_SWEEP_STARTS_NIGHTS = True

# Where people reach the site: the links in emails (the digest) start with it.
SITE_URL = env("CSPLATFORM_SITE_URL", default="http://127.0.0.1:8000")

EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="csplatform@localhost")

# The REST API (api/): integrations authenticate with the organization's own API tokens
# (api.authentication, never a session or a query string); pagination, filters, errors and
# throttling are set per view there.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["api.authentication.ApiTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["api.permissions.TokenScopePermission"],
    "DEFAULT_THROTTLE_CLASSES": ["api.throttling.TokenRateThrottle"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "api.pagination.UpdatedCursorPagination",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "api.errors.api_exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "UNAUTHENTICATED_USER": None,
    "PAGE_SIZE": 100,
}
# Requests one API token may make per minute (429 with Retry-After beyond it).
API_TOKEN_RATE_PER_MINUTE = env.count("CSPLATFORM_API_RATE_PER_MINUTE", default=600, minimum=1)
SPECTACULAR_SETTINGS = {
    "TITLE": "csplatform API",
    "DESCRIPTION": (
        "The portfolio, signals, health scores, firings, alerts and playbooks of one "
        "organization. Authenticate with `Authorization: Bearer <token>` (an admin creates "
        "tokens under Data → API tokens)."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    # Swagger UI and Redoc from our own static files (drf-spectacular-sidecar), no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    # Fields of one name with other choices in other models get a name each.
    "ENUM_NAME_OVERRIDES": {
        "SurveyKindEnum": "accounts.models.SurveyKind",
        "InteractionKindEnum": "accounts.models.InteractionKind",
        "PlaybookKindEnum": "playbooks.models.PlaybookKind",
        "SubscriptionStatusEnum": "accounts.models.SubscriptionStatus",
        "PlaybookStatusEnum": "playbooks.models.PlaybookStatus",
        "StepStatusEnum": "playbooks.models.StepStatus",
        "AlertStatusEnum": "triggers.models.AlertStatus",
    },
    "DISABLE_ERRORS_AND_WARNINGS": True,
}
# Shared by every web process and worker when Redis is there (API throttling counts per token
# across gunicorn workers); one process's memory otherwise (the demo).
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "csplatform",
        }
    }
# Outgoing webhooks: a delivery is tried WEBHOOK_MAX_ATTEMPTS times with backoff; an endpoint
# whose deliveries fail WEBHOOK_DISABLE_AFTER times in a row is disabled and its admins told.
# Endpoints must be https:// on a public address; WEBHOOK_ALLOW_PRIVATE_URLS lets development
# and the tests deliver to http:// on loopback.
WEBHOOK_MAX_ATTEMPTS = env.count("CSPLATFORM_WEBHOOK_MAX_ATTEMPTS", default=6, minimum=1)
WEBHOOK_DISABLE_AFTER = env.count("CSPLATFORM_WEBHOOK_DISABLE_AFTER", default=20, minimum=1)
WEBHOOK_TIMEOUT_SECONDS = env.count("CSPLATFORM_WEBHOOK_TIMEOUT_SECONDS", default=10, minimum=1)
WEBHOOK_ALLOW_PRIVATE_URLS = env.bool("CSPLATFORM_WEBHOOK_ALLOW_PRIVATE_URLS", default=False)
# The first retry's wait; each next one waits three times longer (at most 30 minutes).
WEBHOOK_RETRY_SECONDS = env.count("CSPLATFORM_WEBHOOK_RETRY_SECONDS", default=10, minimum=1)
# CSV imports: files up to IMPORT_MAX_BYTES; above IMPORT_INLINE_ROWS rows the import runs in a
# Celery worker with a progress bar (the file is kept in the database, so any worker reads it).
IMPORT_MAX_BYTES = env.count("CSPLATFORM_IMPORT_MAX_MB", default=200, minimum=1) * 1024 * 1024
IMPORT_INLINE_ROWS = env.count("CSPLATFORM_IMPORT_INLINE_ROWS", default=5000, minimum=0)
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # axes says INFO on every login and command start; its warnings are the failures.
        "axes": {"level": "WARNING"},
    },
}
