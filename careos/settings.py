"""The one settings module. Every knob comes from the environment.

Development (``DEBUG=true``) gets safe defaults for everything; with ``DEBUG`` off, the secrets
below have no default and start-up stops with a message naming the missing variable.
"""

from datetime import timedelta
from pathlib import Path
from typing import Any

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()

# Local state of the embedded default (SQLite file, filesystem broker, demo credentials).
# CI points it at a temporary directory for its smoke run.
VAR_DIR = Path(env.str("VAR_DIR", default=str(BASE_DIR / "var")))

DEBUG = env.bool("DEBUG", default=False)


def production_secret(name: str, *, dev_default: str) -> str:
    """A secret that must come from the environment unless DEBUG is on."""
    value = env.str(name, default="")
    if value:
        return value
    if DEBUG:
        return dev_default
    raise ImproperlyConfigured(
        f"{name} is not set. It is required when DEBUG is off; set it in the environment "
        f"(or set DEBUG=true for local development)."
    )


def production_secret_list(name: str, *, dev_default: list[str]) -> list[str]:
    values = env.list(name, default=[])
    if values:
        return values
    if DEBUG:
        return dev_default
    raise ImproperlyConfigured(
        f"{name} is not set. It is required when DEBUG is off "
        "(a comma-separated list, newest first)."
    )


SECRET_KEY = production_secret(
    "SECRET_KEY", dev_default="dev-insecure-3f9c1b7e2a6d4f8e9b0c5a7d1e3f6b8c2d4e6f8a0b1c3d5e"
)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# Where clients reach this instance (no trailing slash): links in messages, partner setup
# instructions. ``make run`` sets it to the address it serves on.
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="http://127.0.0.1:8000")

# PHI encryption at rest: Fernet keys, newest first (the first encrypts, all decrypt).
FIELD_ENCRYPTION_KEYS = production_secret_list(
    "FIELD_ENCRYPTION_KEYS", dev_default=["dGhpc2lzYWRldmVsb3BtZW50a2V5b25seTAwMDAwMDA="]
)
# Keyed HMAC for exact-match lookups on encrypted columns.
BLIND_INDEX_KEY = production_secret(
    "BLIND_INDEX_KEY", dev_default="dev-blind-index-key-not-for-production"
)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "oauth2_provider",
    "django_celery_beat",
    "careos",
    "rbac",
    "engagement",
    "partners",
    "payments",
    "leads",
    "support",
    "connectors",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "careos.middleware.RequestBodyLimitMiddleware",
    "careos.middleware.NulByteMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "careos.api.middleware.ApiNotFoundMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "careos.urls"
WSGI_APPLICATION = "careos.wsgi.application"
AUTH_USER_MODEL = "rbac.User"
# End-user sign-in (careos/urls.py, templates/registration/login.html); the OAuth consent page
# sends a signed-out resource owner there and back through ``next``.
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "login"
LOGOUT_REDIRECT_URL = "login"

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
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'careos.sqlite3'}"),
}
# Persistent connections: per-request connects cost most of a request's time
# (docs/architecture.md, Running).
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The file's folder is created by careos.apps (importing settings creates nothing).
    DATABASES["default"]["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE"}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")

# Cache calls sit in requests (throttles, queueing flags) and their callers survive a Redis
# outage: a Redis host that stops answering must fail them quickly, not hold them (redis-py
# waits forever by default).
CACHE_REDIS_TIMEOUT_SECONDS = env.float("CACHE_REDIS_TIMEOUT_SECONDS", default=0.5)
# Installations (or test runs) sharing one Redis database keep their cache keys apart by it.
CACHE_KEY_PREFIX = env.str("CACHE_KEY_PREFIX", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": CACHE_KEY_PREFIX,
            "OPTIONS": {
                "socket_connect_timeout": CACHE_REDIS_TIMEOUT_SECONDS,
                "socket_timeout": CACHE_REDIS_TIMEOUT_SECONDS,
            },
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "KEY_PREFIX": CACHE_KEY_PREFIX,
        }
    }

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("es", "Español"), ("fr", "Français")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

# --- security (``check --deploy`` clean when DEBUG is off) ---
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# --- API ---
REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": [
        "careos.api.renderers.CamelCaseJSONRenderer",
    ],
    # JSON only, as the schema says: a form cannot carry the API's nested bodies or its types.
    # Views that take another format (Twilio's forms, raw signed webhooks) declare their own.
    "DEFAULT_PARSER_CLASSES": [
        "careos.api.parsers.CamelCaseJSONParser",
    ],
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "careos.api.pagination.CreatedCursorPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "careos.api.exceptions.problem_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
# Request bodies over this many bytes are refused on every path (413 payload_too_large).
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=2_621_440)
# JSON bodies (API and webhooks) nesting deeper than this are refused (400 malformed_request).
API_JSON_MAX_DEPTH = env.int("API_JSON_MAX_DEPTH", default=64)
PROBLEM_TYPE_BASE_URL = env.str(
    "PROBLEM_TYPE_BASE_URL", default="https://docs.careos.dev/problems/"
)
# Idempotency-Key: how long a key is remembered, and after how long a claim whose request never
# finished (the process died) is given up.
IDEMPOTENCY_KEY_TTL_SECONDS = env.int("IDEMPOTENCY_KEY_TTL_SECONDS", default=24 * 3600)
IDEMPOTENCY_IN_PROGRESS_TIMEOUT_SECONDS = env.int(
    "IDEMPOTENCY_IN_PROGRESS_TIMEOUT_SECONDS", default=300
)
SPECTACULAR_SETTINGS = {
    "TITLE": "CareOS Platform API",
    "DESCRIPTION": "Partner, clinic and patient APIs of CareOS. JSON bodies are camelCase.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "CAMELIZE_NAMES": False,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "drf_spectacular.contrib.djangorestframework_camel_case.camelize_serializer_fields",
        "careos.api.schema.add_problem_responses",
        "careos.api.schema.document_request_limits",
        "careos.api.schema.require_bodies_with_required_properties",
        "careos.api.schema.forbid_nul_in_url_parameters",
    ],
}

# --- outbound HTTP ---
# Private, loopback and link-local targets are refused unless this is on (tests, development).
OUTBOUND_HTTP_ALLOW_PRIVATE = env.bool("OUTBOUND_HTTP_ALLOW_PRIVATE", default=DEBUG)
OUTBOUND_HTTP_TIMEOUT_SECONDS = env.float("OUTBOUND_HTTP_TIMEOUT_SECONDS", default=15.0)
# URLs partners register (webhook endpoints, FHIR servers) must be https outside development.
OUTBOUND_HTTP_REQUIRE_HTTPS = env.bool("OUTBOUND_HTTP_REQUIRE_HTTPS", default=not DEBUG)

# --- Celery ---
# Embedded default: a filesystem broker (no server). Production: Redis from REDIS_URL.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "filesystem://")
# Tasks are queued after commit, inside requests, and the work behind them is in the database
# for a beat sweep (outbox events, webhook messages, lead welcomes, Stripe events). So while the
# broker is down a publish must fail fast, and its caller log it, rather than hold the request:
# kombu's defaults wait ~6 s on connection retries (even with ``retry=False``), and a broker
# host that drops packets would hold each connect for the OS's TCP timeout. Workers retry their
# own broker connection regardless (broker_connection_max_retries).
_PUBLISH_RETRIES = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}
CELERY_TASK_PUBLISH_RETRY_POLICY = _PUBLISH_RETRIES
if CELERY_BROKER_URL == "filesystem://":
    # careos.broker's transport: it creates these folders when it opens a channel.
    _broker_dir = VAR_DIR / "broker"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
        # Exchange tables; kombu's default is ./control in the working directory.
        "control_folder": str(_broker_dir / "control"),
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": 3600,
        "socket_connect_timeout": env.float("CELERY_BROKER_CONNECT_TIMEOUT_SECONDS", default=1.0),
    }
# The connection a publish opens (also with retry=False) retries by these, not by the policy.
CELERY_BROKER_TRANSPORT_OPTIONS.update(_PUBLISH_RETRIES)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
# Installations (or test runs) sharing one broker keep their tasks apart by it.
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_TASK_DEFAULT_QUEUE", default="celery")
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=120)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=150)
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = "UTC"

# --- logging: JSON in production, never PHI or secrets ---
LOG_FORMAT = env.str("LOG_FORMAT", default="text" if DEBUG else "json")
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "redact": {"()": "careos.logging.RedactSecretsFilter"},
        "client_errors": {"()": "careos.logging.ClientErrorTracebackFilter"},
    },
    "formatters": {
        "json": {"()": "careos.logging.JsonFormatter"},
        "text": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["client_errors", "redact"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # Django's default config gives "django" a console handler of its own when DEBUG is on:
        # each of its records (403 tracebacks too) would be printed twice. The root one is enough.
        "django": {"handlers": [], "propagate": True},
        "django.db.backends": {"level": "WARNING"},
    },
}

# --- OAuth 2.0 (django-oauth-toolkit) ---
OAUTH2_PROVIDER: dict = {
    "ACCESS_TOKEN_EXPIRE_SECONDS": env.int("OAUTH_ACCESS_TOKEN_SECONDS", default=3600),
    "REFRESH_TOKEN_EXPIRE_SECONDS": env.int("OAUTH_REFRESH_TOKEN_SECONDS", default=30 * 24 * 3600),
    # RFC 9700 (OAuth 2.0 Security BCP) from the start, so ``check --deploy`` is clean: no
    # implicit or password grant, PKCE S256 required, tokens only in headers, ``iss`` in
    # authorization responses, tokens hashed at rest, a replayed refresh token revokes its
    # family, exact redirect URIs, https redirect URIs (http too in development, for loopback).
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "COMPLIANT_BCP_RFC9700_REFRESH_TOKEN": True,
    "ALLOWED_REDIRECT_URI_SCHEMES": env.list(
        "OAUTH_REDIRECT_URI_SCHEMES", default=["http", "https"] if DEBUG else ["https"]
    ),
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_SCHEME": not DEBUG,
    "ALLOW_URI_WILDCARDS": False,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_MATCHING": True,
    "PKCE_REQUIRED": True,
    "COMPLIANT_BCP_RFC9700_PKCE_REQUIRED": True,
}

# --- rbac ---
# How many reverse proxies in front of the app append to X-Forwarded-For. 0 (default): the header
# is ignored and the audit log records REMOTE_ADDR, since any client can forge the header.
RBAC_TRUSTED_PROXY_COUNT = env.int("RBAC_TRUSTED_PROXY_COUNT", default=0)
# ``manage.py flush`` erases the append-only audit log; only disposable databases allow it.
RBAC_AUDIT_FLUSH_ALLOWED = env.bool("RBAC_AUDIT_FLUSH_ALLOWED", default=False)

# --- database roles and the audit chain (docs/security.md) ---
# PostgreSQL: the app connects with DATABASE_URL as a role that owns nothing (DML on the app's
# tables, only INSERT and SELECT on the audit log); ``migrate`` (and ``flush``, test databases
# only) connect to the same database as the owner role of MIGRATION_DATABASE_URL, and grant the
# app role its privileges. Empty: every command connects with DATABASE_URL (SQLite, development).
MIGRATION_DATABASE_URL = env.str("MIGRATION_DATABASE_URL", default="")
MIGRATION_DATABASE = env.db_url_config(MIGRATION_DATABASE_URL) if MIGRATION_DATABASE_URL else {}
if MIGRATION_DATABASE and (
    MIGRATION_DATABASE["ENGINE"],
    MIGRATION_DATABASE["NAME"],
) != (DATABASES["default"]["ENGINE"], DATABASES["default"]["NAME"]):
    raise ImproperlyConfigured(
        "MIGRATION_DATABASE_URL must name the same database as DATABASE_URL (another role)."
    )
# The role DATABASE_URL names: the one ``migrate`` grants to.
DATABASE_APP_ROLE = str(DATABASES["default"].get("USER") or "")
# HMAC key of the audit log's hash chain (``manage.py audit_verify``): someone who can write the
# table but does not hold this key cannot recompute the chain after changing a row. Keep every
# key the log was written with for as long as the log must verify (no rotation).
AUDIT_CHAIN_KEY = production_secret(
    "AUDIT_CHAIN_KEY", dev_default="dev-audit-chain-key-not-for-production"
)

# --- engagement ---
# Channel backends: console backends (record, never send) are the development default, the real
# providers the production default; with DEBUG off ``engagement.W001`` warns about a console
# SMS/push backend and ``engagement.W002`` about an email backend that never delivers (console,
# locmem, dummy, file). ``check --deploy`` fails when the selected Twilio/web push backend lacks
# its credentials (``engagement.E001``/``E002``), when the VAPID keys do not parse or do not
# belong together (``E003``), and when the SMTP backend has no EMAIL_HOST or a placeholder
# DEFAULT_FROM_EMAIL (``E004``). Tests set the console backends in pyproject's env.
SMS_BACKEND = env.str(
    "SMS_BACKEND",
    default="engagement.channels.sms_console.ConsoleSMSTransport"
    if DEBUG
    else "engagement.channels.sms_twilio.TwilioSMSTransport",
)
PUSH_BACKEND = env.str(
    "PUSH_BACKEND",
    default="engagement.channels.push_console.ConsolePushTransport"
    if DEBUG
    else "engagement.channels.push_webpush.WebPushTransport",
)
EMAIL_TRANSPORT = "engagement.channels.email.DjangoEmailTransport"  # uses EMAIL_BACKEND
EMAIL_BACKEND = env.str(
    "EMAIL_BACKEND",
    default="django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
# No production default: the relay must be named (``localhost`` too, if that is where it runs).
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost" if DEBUG else "")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=15)
# The default is a development placeholder: ``check --deploy`` refuses it (``engagement.E004``).
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="CareOS <no-reply@careos.local>")
TWILIO_ACCOUNT_SID = env.str("TWILIO_ACCOUNT_SID", default="")
TWILIO_AUTH_TOKEN = env.str("TWILIO_AUTH_TOKEN", default="")
TWILIO_PHONE_NUMBER = env.str("TWILIO_PHONE_NUMBER", default="")
TWILIO_MESSAGING_SERVICE_SID = env.str("TWILIO_MESSAGING_SERVICE_SID", default="")
# VAPID key pair (``python scripts/vapid_keys.py`` makes one): the private key as base64url of
# the raw 32-byte P-256 key (or of its DER, or a key file's path); the public key, given to
# browsers, as base64url of the uncompressed point. ``check --deploy`` parses both.
VAPID_PUBLIC_KEY = env.str("VAPID_PUBLIC_KEY", default="")
VAPID_PRIVATE_KEY = env.str("VAPID_PRIVATE_KEY", default="")
VAPID_SUBJECT = env.str("VAPID_SUBJECT", default="")  # mailto: or https: contact
PUSH_TTL_SECONDS = env.int("PUSH_TTL_SECONDS", default=24 * 3600)
# Public origin of this server: Twilio status callbacks, webhook signature URLs, unsubscribe links.
ENGAGEMENT_PUBLIC_BASE_URL = env.str("ENGAGEMENT_PUBLIC_BASE_URL", default=PUBLIC_BASE_URL)
ENGAGEMENT_QUIET_HOURS_START = env.str("ENGAGEMENT_QUIET_HOURS_START", default="21:00")
ENGAGEMENT_QUIET_HOURS_END = env.str("ENGAGEMENT_QUIET_HOURS_END", default="08:00")
ENGAGEMENT_MAX_ATTEMPTS = env.int("ENGAGEMENT_MAX_ATTEMPTS", default=5)
ENGAGEMENT_RETRY_BASE_SECONDS = env.int("ENGAGEMENT_RETRY_BASE_SECONDS", default=30)
# A message claimed (``sending``) for longer is given back by the beat sweep: keep it well above
# the longest batch (batch size x provider timeout) so a live worker's claim never expires.
ENGAGEMENT_SENDING_LEASE_SECONDS = env.int("ENGAGEMENT_SENDING_LEASE_SECONDS", default=3600)
# A message still ``queued`` this long after it was queued (plus its retry backoff) has no task
# to send it (the broker was down): the beat sweep queues it again.
ENGAGEMENT_QUEUED_REQUEUE_SECONDS = env.int("ENGAGEMENT_QUEUED_REQUEUE_SECONDS", default=120)
# A sending campaign with no batch for this long gets its next batch queued again; keep it above
# the time a batch waits for a worker (a busy pool is sending earlier batches).
ENGAGEMENT_CAMPAIGN_STALL_SECONDS = env.int("ENGAGEMENT_CAMPAIGN_STALL_SECONDS", default=600)
ENGAGEMENT_CAMPAIGN_BATCH_SIZE = env.int("ENGAGEMENT_CAMPAIGN_BATCH_SIZE", default=500)
# Frequency cap: at most COUNT campaign messages per recipient in DAYS (0 disables).
ENGAGEMENT_CAMPAIGN_CAP_COUNT = env.int("ENGAGEMENT_CAMPAIGN_CAP_COUNT", default=3)
ENGAGEMENT_CAMPAIGN_CAP_DAYS = env.int("ENGAGEMENT_CAMPAIGN_CAP_DAYS", default=7)
# The Twilio SDK logs every request at INFO.
LOGGING["loggers"]["twilio.http_client"] = {"level": "WARNING"}

# --- partners ---
OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth2_provider.Application"
OAUTH2_PROVIDER_ACCESS_TOKEN_MODEL = "oauth2_provider.AccessToken"  # noqa: S105 (a model name)
# Keyed hash of API keys (HMAC-SHA256); changing it invalidates every issued key.
PARTNER_API_KEY_HASH_KEY = production_secret(
    "PARTNER_API_KEY_HASH_KEY", dev_default="dev-partner-api-key-hash-key-not-for-production"
)
PARTNER_API_KEY_ROTATION_GRACE_SECONDS = env.int(
    "PARTNER_API_KEY_ROTATION_GRACE_SECONDS", default=24 * 3600
)
# Requests per window, per credential and per partner, by tier (overridable per partner).
PARTNER_RATE_LIMITS = {
    "basic": env.int("PARTNER_RATE_LIMIT_BASIC", default=1_000),
    "pro": env.int("PARTNER_RATE_LIMIT_PRO", default=5_000),
    "enterprise": env.int("PARTNER_RATE_LIMIT_ENTERPRISE", default=10_000),
}
PARTNER_RATE_LIMIT_WINDOW_SECONDS = env.int("PARTNER_RATE_LIMIT_WINDOW_SECONDS", default=60)
# Empty: the in-process limiter (embedded single-process default).
PARTNER_RATE_LIMIT_REDIS_URL = env.str("PARTNER_RATE_LIMIT_REDIS_URL", default=REDIS_URL)
PARTNER_RATE_LIMIT_KEY_PREFIX = env.str("PARTNER_RATE_LIMIT_KEY_PREFIX", default="careos:")
PARTNER_RATE_LIMIT_REDIS_TIMEOUT_SECONDS = env.float(
    "PARTNER_RATE_LIMIT_REDIS_TIMEOUT_SECONDS", default=0.25
)
# Resolved credentials cached per process; freshness comes from a Redis generation counter.
PARTNER_CREDENTIAL_CACHE_SECONDS = env.int("PARTNER_CREDENTIAL_CACHE_SECONDS", default=300)
# Response-phase usage (errors, latency) waits at most this long for the next round trip.
PARTNER_USAGE_BUFFER_MAX_AGE_SECONDS = env.float("PARTNER_USAGE_BUFFER_MAX_AGE_SECONDS", default=5)
# Without Redis, the web process writes its own usage counters to the database periodically.
PARTNER_USAGE_INPROCESS_FLUSH = env.bool(
    "PARTNER_USAGE_INPROCESS_FLUSH", default=not PARTNER_RATE_LIMIT_REDIS_URL
)
MIDDLEWARE.append("partners.middleware.PartnerUsageMiddleware")
# --- abuse limits (issue 13 items 9-10; docs/security.md "Abuse limits") ---
# Redis unreachable: each process limits alone, allowing limit / this many (set it to the
# number of web processes to keep the platform-wide limit); usage is counted in the database.
PARTNER_RATE_LIMIT_FALLBACK_PROCESSES = env.int("PARTNER_RATE_LIMIT_FALLBACK_PROCESSES", default=1)
# One welcome SMS per patient per partner in this many days, however many leads arrive.
LEADS_WELCOME_WINDOW_DAYS = env.int("LEADS_WELCOME_WINDOW_DAYS", default=30)
# Messages to one address (phone, email) per UTC day across the platform, counted in the
# database; more are recorded as "capped" and not sent. 0: no cap.
ENGAGEMENT_RECIPIENT_DAILY_CAP = env.int("ENGAGEMENT_RECIPIENT_DAILY_CAP", default=10)
# --- end abuse limits ---
SPECTACULAR_SETTINGS.setdefault("ENUM_NAME_OVERRIDES", {}).update(
    {
        "PartnerStatusEnum": "partners.models.partner.Partner.Status",
        "PartnerApplicationStatusEnum": "partners.models.applications.PartnerApplication.Status",
        "ApiKeyStatusEnum": "partners.models.credentials.ApiKey.Status",
        "PartnerScopeEnum": "partners.scopes.SCOPE_CHOICES",
    }
)


OAUTH2_PROVIDER.update(
    {
        "SCOPES_BACKEND_CLASS": "partners.oauth.CatalogScopes",
        # RFC 6749 conformance (errors, code replay): partners/oauth.py.
        "OAUTH2_BACKEND_CLASS": "partners.oauth.PartnerOAuthLibCore",
        "OAUTH2_VALIDATOR_CLASS": "partners.oauth.PartnerOAuth2Validator",
        # The issuer of the metadata document and of ``iss`` in authorization responses (RFC
        # 9207); DOT names it after OIDC but uses it for plain OAuth 2.0 too.
        "OIDC_ISS_ENDPOINT": PUBLIC_BASE_URL.rstrip("/"),
        # What /.well-known/oauth-authorization-server advertises: what is actually accepted.
        "OAUTH2_GRANT_TYPES_SUPPORTED": [
            "authorization_code",
            "client_credentials",
            "refresh_token",
        ],
        "OAUTH2_RESPONSE_TYPES_SUPPORTED": ["code"],
        # "none": public clients (PKCE) name themselves with client_id alone.
        "OAUTH2_TOKEN_ENDPOINT_AUTH_METHODS_SUPPORTED": [
            "client_secret_basic",
            "client_secret_post",
            "none",
        ],
        # PKCE_REQUIRED: set to partners.oauth.pkce_required (public clients) by the app's ready().
        "ROTATE_REFRESH_TOKEN": True,
        "REFRESH_TOKEN_REUSE_PROTECTION": True,
    }
)

# Events and webhooks (partners/services/events.py, partners/services/webhooks.py).
# Delay before each attempt, in seconds: the first is immediate (Standard Webhooks / Svix style).
WEBHOOK_RETRY_SCHEDULE = [
    int(v)
    for v in env.list(
        "WEBHOOK_RETRY_SCHEDULE",
        default=["0", "5", "300", "1800", "7200", "18000", "36000", "36000"],
    )
]
WEBHOOK_RETRY_JITTER = env.float("WEBHOOK_RETRY_JITTER", default=0.1)  # ± fraction of a delay
WEBHOOK_MAX_RETRY_AFTER_SECONDS = env.int("WEBHOOK_MAX_RETRY_AFTER_SECONDS", default=86400)
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=15.0)
WEBHOOK_RESPONSE_BODY_LIMIT = env.int("WEBHOOK_RESPONSE_BODY_LIMIT", default=2048)
WEBHOOK_DISABLE_AFTER_FAILING_DAYS = env.float("WEBHOOK_DISABLE_AFTER_FAILING_DAYS", default=5.0)
WEBHOOK_SECRET_ROTATION_GRACE_HOURS = env.float("WEBHOOK_SECRET_ROTATION_GRACE_HOURS", default=24.0)
WEBHOOK_BATCH_SIZE = env.int("WEBHOOK_BATCH_SIZE", default=100)  # messages claimed at once
WEBHOOK_TASK_BUDGET_SECONDS = env.float("WEBHOOK_TASK_BUDGET_SECONDS", default=20.0)
# An endpoint's delivery lease lasts budget + timeout + this margin; a killed worker's messages
# are sent again once it expires.
WEBHOOK_LEASE_MARGIN_SECONDS = env.float("WEBHOOK_LEASE_MARGIN_SECONDS", default=30.0)
WEBHOOK_FANOUT_BATCH_SIZE = env.int("WEBHOOK_FANOUT_BATCH_SIZE", default=500)
WEBHOOK_ALERT_FROM_EMAIL = env.str("WEBHOOK_ALERT_FROM_EMAIL", default="webhooks@careos.dev")
EVENT_RETENTION_DAYS = env.int("EVENT_RETENTION_DAYS", default=30)

# --- partners: marketplace (partners/services/marketplace/) ---
# SearchVector/SearchRank and the trigram lookups on PostgreSQL; inert on SQLite.
INSTALLED_APPS.append("django.contrib.postgres")
# Uploaded logos and screenshots go through Django's storage API ("default" in STORAGES):
# the filesystem under MEDIA_ROOT unless MEDIA_STORAGE_BACKEND names another backend. With
# django-storages' "storages.backends.s3.S3Storage" they go to an S3 bucket (AWS, or any
# S3-compatible service such as MinIO through MEDIA_S3_ENDPOINT_URL), configured by the
# MEDIA_S3_* variables below; an unset key/secret leaves boto3 its own credential chain.
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
MEDIA_URL = env.str("MEDIA_URL", default="/media/")
MEDIA_STORAGE_BACKEND = env.str(
    "MEDIA_STORAGE_BACKEND", default="django.core.files.storage.FileSystemStorage"
)
_media_storage: dict[str, Any] = {"BACKEND": MEDIA_STORAGE_BACKEND}
if MEDIA_STORAGE_BACKEND == "storages.backends.s3.S3Storage":
    _media_s3_options = {
        "bucket_name": env.str("MEDIA_S3_BUCKET"),  # required
        "endpoint_url": env.str("MEDIA_S3_ENDPOINT_URL", default=""),
        "region_name": env.str("MEDIA_S3_REGION", default=""),
        "access_key": env.str("MEDIA_S3_ACCESS_KEY_ID", default=""),
        "secret_key": env.str("MEDIA_S3_SECRET_ACCESS_KEY", default=""),
        "custom_domain": env.str("MEDIA_S3_CUSTOM_DOMAIN", default=""),
    }
    _media_storage["OPTIONS"] = {k: v for k, v in _media_s3_options.items() if v}
STORAGES["default"] = _media_storage
# Uploads are base64 in JSON: 1.5 MiB of image stays within DATA_UPLOAD_MAX_MEMORY_SIZE.
MARKETPLACE_IMAGE_MAX_BYTES = env.int("MARKETPLACE_IMAGE_MAX_BYTES", default=1_572_864)
MARKETPLACE_IMAGE_MAX_PIXELS = env.int("MARKETPLACE_IMAGE_MAX_PIXELS", default=16_000_000)
MARKETPLACE_IMAGE_MAX_SIDE = env.int("MARKETPLACE_IMAGE_MAX_SIDE", default=4096)
MARKETPLACE_LOGO_MIN_SIDE = env.int("MARKETPLACE_LOGO_MIN_SIDE", default=64)
MARKETPLACE_SCREENSHOTS_MAX = env.int("MARKETPLACE_SCREENSHOTS_MAX", default=8)
# Trending: installs of the last TRENDING_WINDOW_DAYS, each weighted 0.5 ** (age / half-life).
MARKETPLACE_TRENDING_WINDOW_DAYS = env.int("MARKETPLACE_TRENDING_WINDOW_DAYS", default=7)
MARKETPLACE_TRENDING_HALF_LIFE_DAYS = env.float("MARKETPLACE_TRENDING_HALF_LIFE_DAYS", default=2.0)
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"].update(
    {
        "ListingStatusEnum": "partners.models.marketplace.ListingStatus",
        "PricingModelEnum": "partners.models.marketplace.PricingModel",
        "MarketplaceMediaKindEnum": "partners.models.marketplace.MarketplaceListingMedia.Kind",
    }
)
# --- end partners: marketplace ---

# --- payments ---
# Stripe: "stripe" (the SDK; the production default) or "console" (no network, local fake ids;
# the DEBUG default). Tests set the console backends in pyproject's env and fake Stripe at the
# HTTP boundary where they need it (``STRIPE_API_BASE``).
PAYMENTS_STRIPE_BACKEND = env.str(
    "PAYMENTS_STRIPE_BACKEND", default="console" if DEBUG else "stripe"
)
STRIPE_SECRET_KEY = production_secret("STRIPE_SECRET_KEY", dev_default="")
STRIPE_WEBHOOK_SECRET = production_secret(
    "STRIPE_WEBHOOK_SECRET", dev_default="whsec_careos_development_only"
)
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="https://api.stripe.com")
STRIPE_WEBHOOK_TOLERANCE_SECONDS = env.int("STRIPE_WEBHOOK_TOLERANCE_SECONDS", default=300)
STRIPE_MAX_NETWORK_RETRIES = env.int("STRIPE_MAX_NETWORK_RETRIES", default=2)
# Platform fee kept from each completed booking before the specialist's payout (basis points).
PAYMENTS_PLATFORM_FEE_BPS = env.int("PAYMENTS_PLATFORM_FEE_BPS", default=1500)
PAYMENTS_SPECIALIST_MIN_PAYOUT = env.int("PAYMENTS_SPECIALIST_MIN_PAYOUT", default=1000)
PAYMENTS_BALANCE_ALERT_MIN = env.int("PAYMENTS_BALANCE_ALERT_MIN", default=10000)
# --- payments: catalogue (issue 20) ---
# Mirror the clinics' catalogues to Stripe Products/Prices (through PAYMENTS_STRIPE_BACKEND).
PAYMENTS_STRIPE_CATALOGUE_SYNC = env.bool("PAYMENTS_STRIPE_CATALOGUE_SYNC", default=False)
# --- end payments: catalogue ---
# Partner referral fees: paid when a partner's due total reaches the threshold (minor units).
PARTNER_PAYMENT_MIN_PAYOUT = env.int("PARTNER_PAYMENT_MIN_PAYOUT", default=5000)
PARTNER_PAYMENT_DUE_DAYS = env.int("PARTNER_PAYMENT_DUE_DAYS", default=30)
INVOICE_DUE_DAYS = env.int("INVOICE_DUE_DAYS", default=30)
# External subscription billing provider ("CVT"): "http" (production default) or "console"
# (DEBUG default: keys starting cvt_test_ verify, charges succeed, no network).
BILLING_PROVIDER_BACKEND = env.str(
    "BILLING_PROVIDER_BACKEND", default="console" if DEBUG else "http"
)
BILLING_PROVIDER_API_URL = env.str("BILLING_PROVIDER_API_URL", default="")
BILLING_PROVIDER_SECRET_KEY = production_secret("BILLING_PROVIDER_SECRET_KEY", dev_default="")
BILLING_PROVIDER_WEBHOOK_SECRET = production_secret(
    "BILLING_PROVIDER_WEBHOOK_SECRET", dev_default="careos-billing-webhook-development-only"
)
# How CVT-Signature signs a webhook: "plain" (the provider's scheme: hex HMAC-SHA256 of the raw
# body; replays are stopped only by processing each event id once) or "timestamped" (of
# "<CVT-Timestamp>.<raw body>", within the tolerance below), which production may require.
BILLING_PROVIDER_SIGNATURE_SCHEME = env.str("BILLING_PROVIDER_SIGNATURE_SCHEME", default="plain")
BILLING_PROVIDER_WEBHOOK_TOLERANCE_SECONDS = env.int(
    "BILLING_PROVIDER_WEBHOOK_TOLERANCE_SECONDS", default=300
)
BILLING_PROVIDER_TIMEOUT_SECONDS = env.float("BILLING_PROVIDER_TIMEOUT_SECONDS", default=10.0)
# POST /api/v1/business/register (anonymous): requests per client IP, DRF rate syntax
# ("10/hour"; empty disables the limit). Counted in the default cache (Redis in production),
# and in each web process while that cache is unreachable.
BUSINESS_REGISTER_RATE_LIMIT = env.str("BUSINESS_REGISTER_RATE_LIMIT", default="10/hour")
# Monthly subscription price per plan, minor units of BILLING_CURRENCY.
BILLING_CURRENCY = env.str("BILLING_CURRENCY", default="USD")
BILLING_PLAN_PRICES = {
    "basic": env.int("BILLING_PRICE_BASIC", default=2999),
    "pro": env.int("BILLING_PRICE_PRO", default=4999),
    "enterprise": env.int("BILLING_PRICE_ENTERPRISE", default=9999),
}

SPECTACULAR_SETTINGS.setdefault("ENUM_NAME_OVERRIDES", {})["LineItemKindEnum"] = (
    "payments.models.bookings.BookingLineItem.Kind"
)

# --- leads ---
LEADS_RSA_KEY_SIZE = env.int("LEADS_RSA_KEY_SIZE", default=2048)
# A rotated encryption key pair keeps decrypting for this long.
LEADS_KEY_GRACE_DAYS = env.int("LEADS_KEY_GRACE_DAYS", default=14)
LEADS_INGEST_RATE_LIMIT_PER_MINUTE = env.int("LEADS_INGEST_RATE_LIMIT_PER_MINUTE", default=100)
LEADS_FALLBACK_CATEGORY = env.str("LEADS_FALLBACK_CATEGORY", default="general")
# Printed in partners' setup instructions (generate_partner_keys, the demo partner's env file).
LEADS_PUBLIC_API_URL = env.str("LEADS_PUBLIC_API_URL", default=PUBLIC_BASE_URL)

SPECTACULAR_SETTINGS.setdefault("ENUM_NAME_OVERRIDES", {})["LeadStatusEnum"] = (
    "leads.models.LeadStatus"
)

# --- support ---
# A solved ticket can be reopened for this many days; then the sweep closes it.
SUPPORT_REOPEN_WINDOW_DAYS = env.int("SUPPORT_REOPEN_WINDOW_DAYS", default=7)
# CSAT survey links: this URL + a signed token (the token is accepted for MAX_AGE days).
SUPPORT_CSAT_URL = env.str("SUPPORT_CSAT_URL", default=f"{PUBLIC_BASE_URL}/support/csat/")
SUPPORT_CSAT_MAX_AGE_DAYS = env.int("SUPPORT_CSAT_MAX_AGE_DAYS", default=30)
# Reply translation: "none" (default) or "libretranslate" (self-hosted server at the URL).
SUPPORT_TRANSLATION_BACKEND = env.str("SUPPORT_TRANSLATION_BACKEND", default="none")
SUPPORT_TRANSLATION_URL = env.str("SUPPORT_TRANSLATION_URL", default="http://127.0.0.1:5000")
SUPPORT_TRANSLATION_API_KEY = env.str("SUPPORT_TRANSLATION_API_KEY", default="")
# Ticket enums share field names (status, channel, language) with other apps' enums: name them
# all explicitly so the schema has no hash-suffixed enum names.
SPECTACULAR_SETTINGS.setdefault("ENUM_NAME_OVERRIDES", {}).update(
    {
        "TicketStatusEnum": "support.models.ticket.Status",
        "TicketPriorityEnum": "support.models.ticket.Priority",
        "TicketChannelEnum": "support.models.ticket.Channel",
        "MessageChannelEnum": "engagement.models.messages.Channel",
        "LanguageEnum": LANGUAGES,
    }
)

# --- connectors ---

# --- demo (``manage.py seed_demo``) ---
# Credentials the demo modules create, for ``make run``'s banner and the CI smoke run.
DEMO_CREDENTIALS_FILE = VAR_DIR / "demo-credentials.json"

SESSION_COOKIE_AGE = int(timedelta(hours=12).total_seconds())

# --- accounts: login throttling, second factor, idle sessions, CSP (docs/security.md) ---
# Installed apps and middleware are placed relative to Django's own, so this block can stay
# together: OTPMiddleware and the second-factor gate right after AuthenticationMiddleware,
# django-csp's header on every response, django-axes' lockout answer last (as axes requires).
INSTALLED_APPS += [
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "csp",
]
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1,
    "django_otp.middleware.OTPMiddleware",
)
MIDDLEWARE.insert(
    MIDDLEWARE.index("django_otp.middleware.OTPMiddleware") + 1,
    "rbac.accounts.middleware.SecondFactorMiddleware",
)
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1,
    "csp.middleware.CSPMiddleware",
)
MIDDLEWARE.append("axes.middleware.AxesMiddleware")
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Failed sign-ins (admin and /accounts/login/) are counted per username *and* client address;
# after ACCOUNTS_LOGIN_FAILURE_LIMIT of them that pair is locked out for the cool-off period
# (also with the right password). Attempts and lockouts are listed in the admin (Axes), where
# an operator can also lift one early.
AXES_FAILURE_LIMIT = env.int("ACCOUNTS_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("ACCOUNTS_LOGIN_LOCKOUT_MINUTES", default=30))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# The one client-address rule of the project (X-Forwarded-For only behind trusted proxies).
AXES_CLIENT_IP_CALLABLE = "rbac.services.client_ip"
AXES_LOCKOUT_CALLABLE = "rbac.accounts.lockout.lockout_response"
AXES_HTTP_RESPONSE_CODE = 429
# Accounts that can see PHI (superusers, roles with rbac.view_phi) need a TOTP code after the
# password; enrolment happens at their first sign-in. Their sessions end after this much
# inactivity (rounded to ACCOUNTS_SESSION_ACTIVITY_STEP_SECONDS, the granularity at which
# activity is written to the session).
ACCOUNTS_PHI_SESSION_IDLE_SECONDS = env.int("ACCOUNTS_PHI_SESSION_IDLE_SECONDS", default=15 * 60)
ACCOUNTS_SESSION_ACTIVITY_STEP_SECONDS = env.int(
    "ACCOUNTS_SESSION_ACTIVITY_STEP_SECONDS", default=60
)
ACCOUNTS_RECOVERY_CODE_COUNT = env.int("ACCOUNTS_RECOVERY_CODE_COUNT", default=10)
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="CareOS")
# Device secrets are not shown in the admin (an operator removes a lost device instead).
OTP_ADMIN_HIDE_SENSITIVE_DATA = True
# django-csp 4 format. Scripts only from our own static files (no inline script, no eval);
# styles also inline, since admin columns render `style` attributes; nothing may frame us.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
    },
}
# Swagger UI's validator badge would send the schema to swagger.io (and CSP blocks it anyway).
SPECTACULAR_SETTINGS["SWAGGER_UI_SETTINGS"] = {"deepLinking": True, "validatorUrl": None}

# --- clinic console scoping and PHI-read audit (rbac.console, rbac.middleware) ---
# The admin's default site is the clinic console: it opens for platform staff and clinic staff
# and scopes every admin to the staff member's clinics. Each request that showed patient data
# writes one audit event (after authentication, so the actor is known).
INSTALLED_APPS[INSTALLED_APPS.index("django.contrib.admin")] = "rbac.adminconfig.ConsoleAdminConfig"
# Before django-axes' middleware, which must stay last.
MIDDLEWARE.insert(
    MIDDLEWARE.index("axes.middleware.AxesMiddleware"), "rbac.middleware.PhiReadAuditMiddleware"
)
