"""Settings shared by every environment; the environment-specific modules import from here."""

import datetime
import hashlib
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# Published with the code: development and tests only (prod.py refuses it).
DEV_SECRET_KEY = "dev-only-insecure-key-change-me-never-in-production"
SECRET_KEY = env("DJANGO_SECRET_KEY", default=DEV_SECRET_KEY)
DEBUG = env.bool("DJANGO_DEBUG", default=False)

# Every clinic is <slug>.<BASE_DOMAIN>; BASE_DOMAIN itself is the public site.
BASE_DOMAIN = env("CLINICO_BASE_DOMAIN", default="localhost")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=[BASE_DOMAIN, f".{BASE_DOMAIN}"])

SHARED_APPS = [
    "django_tenants",
    "clinico",
    "tenants",
    "accounts",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "csp",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "drf_standardized_errors",
    "django_celery_beat",
    "events.activity",
    "integrations.schedule",
    "common",
]
TENANT_APPS = [
    "patients",
    "queueing",
    "audit",
    "events",
    "integrations",
    "appointments",
]
INSTALLED_APPS = SHARED_APPS + [app for app in TENANT_APPS if app not in SHARED_APPS]

TENANT_MODEL = "tenants.Clinic"
TENANT_DOMAIN_MODEL = "tenants.Domain"
PUBLIC_SCHEMA_URLCONF = "clinico.urls_public"
ROOT_URLCONF = "clinico.urls_tenant"
# New clinics are cloned from this schema instead of running every migration (see tenants/).
TENANT_BASE_SCHEMA = "clinic_template"
TENANT_CREATION_FAKES_MIGRATIONS = True
# The clinic's schema travels with every transaction (SET LOCAL, see clinico/postgresql); with
# DATABASE_SEARCH_PATH=session, one session-level SET per request or task instead of one per query.
TENANT_LIMIT_SET_CALLS = True
DATABASE_ROUTERS = ["django_tenants.routers.TenantSyncRouter"]

MIDDLEWARE = [
    # Outermost: every answer carries the request's id (common/request_id.py); then every answer
    # is counted and timed by route template (common/metrics.py).
    "common.request_id.RequestIdMiddleware",
    "common.metrics.MetricsMiddleware",
    # An unreachable database or broker answers 503 even where DEBUG shows its page.
    "common.errors.OutageMiddleware",
    "clinico.middleware.TrustedProxyHeadersMiddleware",
    "clinico.middleware.ClinicHostMiddleware",
    "clinico.middleware.ClinicTimezoneMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "clinico.middleware.EventsOriginCSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "common.sessions.IdleSessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

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
                "django.template.context_processors.i18n",
            ],
        },
    },
]

WSGI_APPLICATION = "clinico.wsgi.application"
ASGI_APPLICATION = "clinico.asgi.application"


def database_pooling_settings(env: environ.Env) -> dict:
    """The DATABASES keys a connection pooler needs (DATABASE_POOLER), checked at start-up.

    DATABASE_POOLER=transaction (PgBouncer's pool_mode=transaction): no server-side cursors (a
    cursor cannot outlive the transaction's server connection) and the schema set per
    transaction, which is the default (DATABASE_SEARCH_PATH=transaction; "session" is for direct
    connections only). See README, Production.
    """
    pooler = env.str("DATABASE_POOLER", default="none")
    search_path = env.str("DATABASE_SEARCH_PATH", default="transaction")
    if pooler not in ("none", "session", "transaction"):
        raise ImproperlyConfigured(
            f'DATABASE_POOLER is "{pooler}": use "none", "session" or "transaction".'
        )
    if pooler == "transaction" and search_path != "transaction":
        raise ImproperlyConfigured(
            "DATABASE_SEARCH_PATH=session cannot run behind a transaction-mode pooler: a "
            "transaction could run in another clinic's schema. Leave it unset."
        )
    return {
        "SEARCH_PATH": search_path,
        "DISABLE_SERVER_SIDE_CURSORS": pooler == "transaction",
    }


DATABASES = {
    "default": env.db("DATABASE_URL", default="postgres://postgres@127.0.0.1:54329/clinico"),
}
DATABASES["default"]["ENGINE"] = "clinico.postgresql"  # django-tenants backend, see there
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"].update(database_pooling_settings(env))
# Each process kind names its connections (pg_stat_activity.application_name), so an operator
# sees who holds them: the events process sets clinico-events (clinico/asgi.py).
if env("CLINICO_DB_APPLICATION_NAME", default=""):
    DATABASES["default"].setdefault("OPTIONS", {})["application_name"] = env(
        "CLINICO_DB_APPLICATION_NAME"
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        # One clinic's cached value must never be served to another.
        "KEY_FUNCTION": "django_tenants.cache.make_key",
        "REVERSE_KEY_FUNCTION": "django_tenants.cache.reverse_key",
    },
}

AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
# Invitation and "forgot my password" links work once, for this long (accounts/passwords.py).
PASSWORD_RESET_TIMEOUT = env.int("CLINICO_PASSWORD_LINK_DAYS", default=3) * 24 * 3600

# --- E-mail (sent by a Celery task: accounts/tasks.py) ------------------------------------------
# Development: each message is a file under .run/mail/; production: SMTP (prod.py); tests: locmem.
EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
EMAIL_FILE_PATH = env("CLINICO_EMAIL_FILE_PATH", default=str(BASE_DIR / ".run" / "mail"))
DEFAULT_FROM_EMAIL = env("CLINICO_EMAIL_FROM", default="Clinico <nao-responda@localhost>")
EMAIL_TIMEOUT = 10

LANGUAGE_CODE = "pt-br"
LANGUAGES = [("pt-br", "Português (Brasil)"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
# pt-BR numbers everywhere a page shows one: "1.234" and "0,4" (ids in markup use |unlocalize).
USE_THOUSAND_SEPARATOR = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Serve static files straight from the apps in development and tests (no collectstatic needed).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

SESSION_COOKIE_NAME = "clinico_session"
# Staff page sessions end after this long without the person (shared reception PCs); each request
# they make moves the end on, the pages refreshing themselves do not (common/sessions.py). The TV
# panel's and the totem's cookies are not sessions and keep their own.
CLINICO_STAFF_IDLE_MINUTES = env.int("CLINICO_STAFF_IDLE_MINUTES", default=30)
SESSION_COOKIE_AGE = CLINICO_STAFF_IDLE_MINUTES * 60
SESSION_SAVE_EVERY_REQUEST = True

# Content-Security-Policy (django-csp): scripts and styles from this origin only, no inline
# script or event handler (pages pass data with json_script and data- attributes). Inline
# styles stay allowed (the ticket's @page size); docs/security.md, "Headers and sessions".
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "worker-src": ["'self'", "blob:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

# --- Celery (tenant-schemas-celery on RabbitMQ) ---------------------------------------------
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="amqp://guest:guest@127.0.0.1:56729//")
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_DELIVERY_MODE = "persistent"
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_ENABLE_UTC = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_TIMEOUT = env.float("CELERY_BROKER_CONNECTION_TIMEOUT", default=2.0)
CELERY_TASK_PUBLISH_RETRY = True
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2}
CELERY_BEAT_SCHEDULER = "tenants.beat:ClinicDatabaseScheduler"  # see docs/reset.md
# Task modules autodiscovery (`<app>.tasks`) does not find.
CELERY_IMPORTS = ["tenants.tasks_sweep"]
CELERY_TASK_TENANT_CACHE_SECONDS = 30
# Keep workers' database connections between tasks (CONN_MAX_AGE, health-checked before each
# task in clinico/celery.py) instead of Celery's default of reconnecting for every task.
CELERY_DB_REUSE_MAX = 1_000_000_000
# Clinics are spread over this many shard queues by a stable hash of their schema name.
CLINICO_SHARD_QUEUES = env.int("CLINICO_SHARD_QUEUES", default=4)
CLINICO_PLATFORM_QUEUE = "platform"
# Webhook deliveries wait on partners' servers: a queue and a worker pool of their own, never
# the shard queues that issue tickets (docs/webhooks.md, "Isolation").
CLINICO_WEBHOOK_QUEUE = "webhooks"
# Every task has a soft limit (SoftTimeLimitExceeded raised in it) and a hard one (the pool
# process is killed and replaced; with acks_late the message goes back to the queue).
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=60)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=90)
# A clinic's daily close catches up every missed day after an outage: it may run longer.
CELERY_TASK_ANNOTATIONS = {
    "tenants.clinic_day_close_task": {"soft_time_limit": 600, "time_limit": 660},
}
# Each ticket or desk change has the clinic's public live figures refreshed (debounced task).
CLINICO_LIVE_FIGURES_PUBLISH = env.bool("CLINICO_LIVE_FIGURES_PUBLISH", default=True)

# --- REST API --------------------------------------------------------------------------------
# Request bodies (API JSON, page forms) above 1 MB answer 413; real ones are a few kilobytes.
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
REST_FRAMEWORK = {
    # drf-standardized-errors' schema plus query-parameter 400s, 413 and 503 (common/openapi.py).
    "DEFAULT_SCHEMA_CLASS": "common.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "drf_standardized_errors.handler.exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # Bounded in size; JSON nested too deeply is a 400 like any other bad JSON.
    "DEFAULT_PARSER_CLASSES": ["common.parsers.JSONParser"],
    # The JWT class checks each token's scope against the host (see accounts/authentication.py).
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.ScopedJWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_THROTTLE_CLASSES": ["accounts.throttles.PartnerClientRateThrottle"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "UNAUTHENTICATED_USER": None,
    # DRF's own throttles, if ever used, key by the TCP peer and never by a header the client
    # wrote; Clinico's key by common.net.client_address (CLINICO_TRUSTED_PROXIES below).
    "NUM_PROXIES": 0,
}
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": datetime.timedelta(minutes=10),
    "REFRESH_TOKEN_LIFETIME": datetime.timedelta(days=1),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": False,
    "ALGORITHM": "HS256",
    # No SIGNING_KEY: simplejwt then signs with settings.SECRET_KEY as finally set (prod.py's).
    "AUTH_HEADER_TYPES": ("Bearer",),
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "user_id",
    # Tokens carry a digest of the password hash (claim "hash_password"); accounts.authentication
    # refuses them once the password is changed or reset, on refresh and on every request.
    "CHECK_REVOKE_TOKEN": True,
}
CLINICO_PARTNER_TOKEN_LIFETIME = datetime.timedelta(minutes=15)
# However often it is refreshed, a session ends this long after its sign-in.
CLINICO_REFRESH_ABSOLUTE_LIFETIME = datetime.timedelta(
    hours=env.int("CLINICO_REFRESH_ABSOLUTE_LIFETIME_HOURS", default=7 * 24)
)
# Failed sign-ins allowed per minute: per account and IP, and per IP over every account.
CLINICO_LOGIN_FAILURES_PER_ACCOUNT_IP = 5
CLINICO_LOGIN_FAILURES_PER_IP = 20
# Load balancers and reverse proxies (addresses or CIDRs) whose X-Forwarded-For is believed:
# behind them, limits and logs see the client they saw (common/net.py). Empty: the TCP peer.
# deploy/gunicorn.conf.py trusts the same list for X-Forwarded-Proto.
CLINICO_TRUSTED_PROXIES = env.list("CLINICO_TRUSTED_PROXIES", default=[])
DRF_STANDARDIZED_ERRORS = {
    "ENABLE_IN_DEBUG_FOR_UNHANDLED_EXCEPTIONS": True,
    # 401 bodies carry the token/sign-in codes of accounts (token_expired, token_scope_mismatch…).
    "ERROR_SCHEMAS": {
        "401": "accounts.openapi.ErrorResponse401Serializer",
        "403": "clinico.openapi.ErrorResponse403Serializer",
        "404": "clinico.openapi.ErrorResponse404Serializer",
        "413": "common.openapi.ErrorResponse413Serializer",
        "503": "common.openapi.ErrorResponse503Serializer",
    },
    # 413 for bodies over DATA_UPLOAD_MAX_MEMORY_SIZE; 503 + Retry-After when the database or
    # the broker cannot be reached (common/errors.py), so clients can tell an outage from a bug.
    "EXCEPTION_HANDLER_CLASS": "common.errors.ExceptionHandler",
    "ALLOWED_ERROR_STATUS_CODES": [400, 401, 403, 404, 405, 406, 413, 415, 429, 500, 503],
}

SPECTACULAR_SETTINGS = {
    # 3.1 for the `webhooks` section: the payloads Clinico POSTs to subscribers.
    "OAS_VERSION": "3.1.0",
    "WEBHOOKS": "integrations.openapi.WEBHOOKS",
    "TITLE": "Clinico API",
    "DESCRIPTION": (
        "Patient queue of clinic chains: check-in by CPF, the queue, desks, the waiting-room "
        "panel, and the chain's figures. Clinic endpoints live on `<clinic>.<base-domain>`; "
        "chain and partner endpoints on the base domain."
    ),
    "VERSION": "1.0.0",
    # Swagger UI and Redoc are served from this deployment, never from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SERVE_INCLUDE_SCHEMA": False,
    # The documentation is public on every host; it never looks at (or refuses) a token.
    "SERVE_AUTHENTICATION": [],
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "ClinicRoleEnum": "accounts.models.ClinicRole.choices",
        "PartnerScopeEnum": "accounts.models.PartnerScope.choices",
        "ValidationErrorEnum": (
            "drf_standardized_errors.openapi_serializers.ValidationErrorEnum.choices"
        ),
        "ClientErrorEnum": "drf_standardized_errors.openapi_serializers.ClientErrorEnum.choices",
        "ServerErrorEnum": "drf_standardized_errors.openapi_serializers.ServerErrorEnum.choices",
        "ErrorCode401Enum": "accounts.openapi.ErrorCode401.choices",
        "ErrorCode403Enum": "clinico.openapi.ErrorCode403.choices",
        "ErrorCode404Enum": "clinico.openapi.ErrorCode404.choices",
        "ErrorCode405Enum": "drf_standardized_errors.openapi_serializers.ErrorCode405Enum.choices",
        "ErrorCode406Enum": "drf_standardized_errors.openapi_serializers.ErrorCode406Enum.choices",
        "ErrorCode415Enum": "drf_standardized_errors.openapi_serializers.ErrorCode415Enum.choices",
        "ErrorCode429Enum": "drf_standardized_errors.openapi_serializers.ErrorCode429Enum.choices",
        "ErrorCode500Enum": "drf_standardized_errors.openapi_serializers.ErrorCode500Enum.choices",
        "ErrorCode413Enum": "common.openapi.ErrorCode413.choices",
        "ErrorCode503Enum": "common.openapi.ErrorCode503.choices",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_standardized_errors.openapi_hooks.postprocess_schema_enums",
        "common.openapi.postprocess_item_attrs",
    ],
}

# One JSON object per line (common/logs.py): time, level, process, request id, clinic schema.
# CLINICO_LOG_FORMAT=plain gives the classic text lines, for a person reading a terminal.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "common.logs.ContextFilter"}},
    "formatters": {
        "json": {"()": "common.logs.JsonFormatter"},
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": env("CLINICO_LOG_FORMAT", default="json"),
            "filters": ["context"],
        }
    },
    "root": {"handlers": ["console"], "level": env("DJANGO_LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# --- Metrics (common/metrics.py, docs/operations.md "Metrics and alerts") -----------------------
# Each process kind serves /metrics on a port of its own, on this address; 0: not served.
# Never a port the public or clinic hosts are served on.
CLINICO_METRICS_ADDRESS = env("CLINICO_METRICS_ADDRESS", default="127.0.0.1")
CLINICO_METRICS_PORT_WEB = env.int("CLINICO_METRICS_PORT_WEB", default=0)
CLINICO_METRICS_PORT_EVENTS = env.int("CLINICO_METRICS_PORT_EVENTS", default=0)
CLINICO_METRICS_PORT_WORKER = env.int("CLINICO_METRICS_PORT_WORKER", default=0)
CLINICO_METRICS_PORT_BEAT = env.int("CLINICO_METRICS_PORT_BEAT", default=0)
CLINICO_METRICS_PORT_WEBHOOKS = env.int("CLINICO_METRICS_PORT_WEBHOOKS", default=0)
# The multiprocess files of gunicorn's and the Celery worker's processes: a directory per
# process kind (and worker port) under this one, emptied when the process starts.
CLINICO_METRICS_DIR = env("CLINICO_METRICS_DIR", default=str(BASE_DIR / ".run" / "prometheus"))
# A clinic's daily reset not sent this long after its local reset time counts as late.
CLINICO_METRICS_RESET_GRACE_SECONDS = env.int("CLINICO_METRICS_RESET_GRACE_SECONDS", default=600)

# --- Patient data by need, the waiting-room panel ----------------------------------------------
# Patient look-ups (search, read, correct, and check-ins and bookings by CPF) allowed per minute
# per staff user or partner client, counted with the sign-in limits' counters
# (patients/throttles.py); more answer 429.
CLINICO_PATIENT_LOOKUPS_PER_MINUTE = env.int("CLINICO_PATIENT_LOOKUPS_PER_MINUTE", default=60)
# Patient exports and anonymisations per minute per staff user, apart from the look-ups: a
# stolen admin token must not download the register at look-up speed.
CLINICO_PATIENT_EXPORTS_PER_MINUTE = env.int("CLINICO_PATIENT_EXPORTS_PER_MINUTE", default=5)
# The TV's panel cookie lives this long and is renewed each time the panel page loads.
CLINICO_PANEL_COOKIE_MAX_AGE = datetime.timedelta(days=365)
# Check-ins a clinic's totems may send per minute, together: a person at a kiosk sends a few;
# a leaked totem key must not become a fast oracle of which CPFs the clinic knows.
CLINICO_TOTEM_CHECKINS_PER_MINUTE = env.int("CLINICO_TOTEM_CHECKINS_PER_MINUTE", default=30)

# --- Live streams of the pages (docs/events.md; the events process in deploy/stack.sh) ---------
CLINICO_EVENTS_HEARTBEAT_SECONDS = env.float("CLINICO_EVENTS_HEARTBEAT_SECONDS", default=15.0)
# How long a browser waits before it opens a cut stream again (the SSE `retry:` field).
CLINICO_EVENTS_RETRY_MS = env.int("CLINICO_EVENTS_RETRY_MS", default=3000)
# Connections of the events process (docs/events.md): the LISTEN one, this many for the streams'
# reads (a thread each), and at most CLINICO_EVENTS_OPENING_SLOTS for streams being opened.
CLINICO_EVENTS_DB_POOL = env.int("CLINICO_EVENTS_DB_POOL", default=4)
CLINICO_EVENTS_OPENING_SLOTS = env.int("CLINICO_EVENTS_OPENING_SLOTS", default=8)
# A request that finds no opening slot within this long answers 503 with Retry-After.
CLINICO_EVENTS_OPENING_WAIT_SECONDS = env.float("CLINICO_EVENTS_OPENING_WAIT_SECONDS", default=10.0)
CLINICO_EVENTS_RETRY_AFTER_SECONDS = env.int("CLINICO_EVENTS_RETRY_AFTER_SECONDS", default=5)
# A request still opening after this long (a stalled client, a database that does not answer) is
# cut with 503: a few slow requests never hold every opening slot.
CLINICO_EVENTS_OPENING_TIMEOUT_SECONDS = env.float(
    "CLINICO_EVENTS_OPENING_TIMEOUT_SECONDS", default=15.0
)
# Open streams: per process (503), per credential (a panel, a user, a ticket's link) and per
# client address (429). A clinic's waiting room shares one address for its TVs and the phones on
# its Wi-Fi; the per-address limit is for a flood, not a busy clinic.
CLINICO_EVENTS_MAX_STREAMS = env.int("CLINICO_EVENTS_MAX_STREAMS", default=10000)
CLINICO_EVENTS_STREAMS_PER_CREDENTIAL = env.int("CLINICO_EVENTS_STREAMS_PER_CREDENTIAL", default=20)
CLINICO_EVENTS_STREAMS_PER_ADDRESS = env.int("CLINICO_EVENTS_STREAMS_PER_ADDRESS", default=1000)
# A stream's credential (panel key, session, membership, status link) is checked again this often
# by the clock, however busy its clinic.
CLINICO_EVENTS_RECHECK_SECONDS = env.float("CLINICO_EVENTS_RECHECK_SECONDS", default=60.0)
# Where pages open their streams. Unset: /events/... on the page's own origin, which a proxy routes
# to the events process (production). A port: the same host on that port, where the events
# process listens beside the web process (development: CLINICO_EVENTS_PORT).
CLINICO_EVENTS_PAGE_PORT = env.int("CLINICO_EVENTS_PAGE_PORT", default=None)

# --- LGPD: access trail and retention (docs/privacy.md) -----------------------------------------
# Access-trail entries are kept this many days (5 years: the limitation period of a patient's
# claim), then the daily reset deletes them; the table refuses deletes younger than 183 days.
CLINICO_ACCESS_TRAIL_RETENTION_DAYS = env.int("CLINICO_ACCESS_TRAIL_RETENTION_DAYS", default=1826)
# Ticket events and record changes older than this are deleted by the daily reset (the closed
# days' summaries the dashboard reads are kept).
CLINICO_EVENT_RETENTION_DAYS = env.int("CLINICO_EVENT_RETENTION_DAYS", default=1826)
# A processed check-in keeps its CPF and registration this long (the Idempotency-Key replay
# window); afterwards only their hash.
CLINICO_CHECKIN_IDEMPOTENCY_HOURS = env.int("CLINICO_CHECKIN_IDEMPOTENCY_HOURS", default=24)
# Patients with no visit for this many years are listed for review.
CLINICO_PATIENT_REVIEW_AFTER_YEARS = env.int("CLINICO_PATIENT_REVIEW_AFTER_YEARS", default=5)
if CLINICO_ACCESS_TRAIL_RETENTION_DAYS < 183:
    raise ImproperlyConfigured(
        "CLINICO_ACCESS_TRAIL_RETENTION_DAYS must be at least 183 days: the access trail refuses "
        "to delete younger entries."
    )

# --- Operations (docs/operations.md) ------------------------------------------------------------
# pg_dump and pg_restore of the server's major version, for clinic_export and clinic_import.
CLINICO_PG_BIN = env("CLINICO_PG_BIN", default="/usr/lib/postgresql/15/bin")
# Signs clinic archives (HMAC-SHA256): clinic_import restores only an archive signed with the same
# key, so installations that move clinics between them share it. Development and tests derive one
# from SECRET_KEY; prod.py requires its own (docs/security.md, "Clinic archives").
CLINICO_ARCHIVE_SIGNING_KEY = env("CLINICO_ARCHIVE_SIGNING_KEY", default="") or (
    hashlib.sha256(b"clinico-archive-signing:" + SECRET_KEY.encode()).hexdigest()
)
# --- Webhooks (integrations/, README "Webhooks") ------------------------------------------------
# A failed delivery is retried after CLINICO_WEBHOOK_RETRY_FIRST_SECONDS, doubling up to
# CLINICO_WEBHOOK_RETRY_MAX_SECONDS between attempts, for CLINICO_WEBHOOK_RETRY_WINDOW_SECONDS
# after the event; then it fails and the subscription is disabled with a notice.
CLINICO_WEBHOOK_RETRY_FIRST_SECONDS = env.float("CLINICO_WEBHOOK_RETRY_FIRST_SECONDS", default=30)
CLINICO_WEBHOOK_RETRY_MAX_SECONDS = env.float("CLINICO_WEBHOOK_RETRY_MAX_SECONDS", default=3600)
CLINICO_WEBHOOK_RETRY_WINDOW_SECONDS = env.float(
    "CLINICO_WEBHOOK_RETRY_WINDOW_SECONDS", default=26 * 3600
)
# Delivered and failed deliveries (the delivery log) are kept this many days.
CLINICO_WEBHOOK_LOG_RETENTION_DAYS = env.int("CLINICO_WEBHOOK_LOG_RETENTION_DAYS", default=30)
# One request ends by this wall-clock deadline: connect, TLS, sending, the answer's head and the
# (at most 4 KB of) body read together.
CLINICO_WEBHOOK_TIMEOUT_SECONDS = env.float("CLINICO_WEBHOOK_TIMEOUT_SECONDS", default=10)
# A clinic's webhook task sends this many requests at once (threads waiting on the network)…
CLINICO_WEBHOOK_SEND_THREADS = env.int("CLINICO_WEBHOOK_SEND_THREADS", default=64)
# …at most this many of one subscription (one while its last send failed).
CLINICO_WEBHOOK_IN_FLIGHT_PER_SUBSCRIPTION = env.int(
    "CLINICO_WEBHOOK_IN_FLIGHT_PER_SUBSCRIPTION", default=2
)
# The circuit breaker: after this many failed sends in a row a subscription gets no request
# for CLINICO_WEBHOOK_BREAKER_OPEN_SECONDS; then one delivery tries (half-open): delivered
# closes the breaker, failed opens it again.
CLINICO_WEBHOOK_BREAKER_FAILURES = env.int("CLINICO_WEBHOOK_BREAKER_FAILURES", default=5)
CLINICO_WEBHOOK_BREAKER_OPEN_SECONDS = env.float("CLINICO_WEBHOOK_BREAKER_OPEN_SECONDS", default=60)
# Names answered without DNS, as curl's --resolve: {"name": ["address", …]}, "*.suffix" too.
# The answers are checked like DNS's (public addresses only). Tests set it; production need not.
CLINICO_WEBHOOK_RESOLVE: dict[str, list[str]] = {}
# Subscriptions per owner in a clinic: each partner client, and the clinic's own systems.
CLINICO_WEBHOOK_MAX_SUBSCRIPTIONS_PER_OWNER = env.int(
    "CLINICO_WEBHOOK_MAX_SUBSCRIPTIONS_PER_OWNER", default=10
)
# After a rotation the old secret keeps signing (a second signature) this long by default.
CLINICO_WEBHOOK_SECRET_OVERLAP = datetime.timedelta(hours=24)
# Receivers should refuse a signature timestamp further than this from their clock.
CLINICO_WEBHOOK_REPLAY_WINDOW_SECONDS = 300
# The sweeper (beat, platform queue) looks for clinics with webhook work due this often.
CLINICO_WEBHOOK_SWEEP_SECONDS = env.int("CLINICO_WEBHOOK_SWEEP_SECONDS", default=15)
# Clinic hosts serve the Django admin of the clinic's own tables (the webhook delivery log) to
# platform operators only where this is on; off, /admin/ on a clinic host answers 404.
CLINICO_CLINIC_HOST_ADMIN = env.bool("CLINICO_CLINIC_HOST_ADMIN", default=False)
# Only HTTPS URLs of public hosts on ports 443 and 8443, except http://127.0.0.1:<any port>
# where this is on (dev and test settings; never in production).
CLINICO_WEBHOOK_ALLOW_LOOPBACK_HTTP = False
if CLINICO_WEBHOOK_RETRY_WINDOW_SECONDS < 24 * 3600 and not env.bool(
    "CLINICO_WEBHOOK_SHORT_WINDOW_ALLOWED", default=False
):
    raise ImproperlyConfigured(
        "CLINICO_WEBHOOK_RETRY_WINDOW_SECONDS must be at least 86400 (24 h of retries)"
    )
