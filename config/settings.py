"""Settings, read from the environment.

DATABASE_URL      required, except for `dev.py run` and `dev.py test`, which ask for the
                  embedded PostgreSQL under ./var/ (LOYALTY_EMBEDDED_DB=1)
CACHE_URL         Redis for the rate limits and throttles (`check --deploy` requires it)
CELERY_BROKER_URL unset: the filesystem transport under ./var/celery (no server needed)
CELERY_VISIBILITY_TIMEOUT Redis broker: seconds before an unacknowledged task is given to
                  another worker (default 3600; above the longest job)
BATCH_CHUNK_PAUSE_SECONDS wait after each chunk of a batch job (default 0)
SECRET_KEY, DEBUG, ALLOWED_HOSTS, CSRF_TRUSTED_ORIGINS, SECURE_SSL_REDIRECT
SECURE_HSTS_SECONDS, SECURE_HSTS_PRELOAD (off unless set: preloading is hard to undo)
HEALTH_PROBE_TOKEN a monitor's token for /healthz/detail (unset: staff sessions only)
STAFF_IDLE_MINUTES a staff session ends after this long without a request (default 120)
TRUSTED_PROXIES   how many reverse proxies in front set X-Forwarded-For (default 0)
"""

import os
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from csp import constants as csp
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)
SECRET_KEY = os.environ.get("SECRET_KEY") or (
    "insecure-development-key-set-SECRET_KEY-in-production" if DEBUG else ""
)
if not SECRET_KEY:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    # django-unfold: the console's look (sidebar, filters, KPI cards); its templates come
    # before Django's admin ones, and the site is loyalty.console.ConsoleSite
    "unfold.apps.BasicAppConfig",
    "unfold.contrib.filters",
    "unfold.contrib.import_export",
    "config.apps.ConsoleAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django.contrib.postgres",
    "import_export",
    "django_celery_beat",
    "csp",
    "pgtrigger",  # the append-only tables' triggers, declared on the models (core.models)
    "config.apps.LoginProtectionConfig",  # django-axes
    # the layers, bottom up: each imports only the ones above it in this list
    "members",
    "points",
    "tiers",
    "campaigns",
    "loyalty",
]

MIDDLEWARE = [
    "loyalty.api.middleware.RequestIdMiddleware",  # X-Request-ID on every answer and log line
    # the load balancer's probe, before anything that could refuse it (host, HTTPS redirect)
    "loyalty.health.HealthProbeMiddleware",
    "config.headers.NoStoreApiMiddleware",  # /api/v1/: Cache-Control: no-store, errors too
    "loyalty.api.middleware.ApiErrorShapeMiddleware",  # /api/: JSON errors from any layer
    "django.middleware.security.SecurityMiddleware",
    "config.headers.ContentSecurityPolicyMiddleware",  # django-csp, a nonce on every page
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "core.http.RefuseNulMiddleware",  # 400 for NUL in parameters (PostgreSQL refuses it)
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "loyalty.middleware.StaffActorMiddleware",
    "loyalty.middleware.CounterRolesMiddleware",  # clerks: the counter, no admin page
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_htmx.middleware.HtmxMiddleware",  # request.htmx for the counter page
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
            "libraries": {"figures": "core.template_figures"},
        },
    },
]

# --- database -----------------------------------------------------------------------------
if not os.environ.get("DATABASE_URL"):
    if not (DEBUG or env_bool("LOYALTY_EMBEDDED_DB", False)):
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(
            "DATABASE_URL is not set. Production needs a PostgreSQL server: set DATABASE_URL "
            "(postgresql://user:password@host:5432/name). The embedded database is for "
            "`dev.py run` and `dev.py test` only.")
    from config import embedded_db

    # Children (Celery, test workers, the web server) inherit the URL and never start a
    # second server; the last process that registered stops it at exit.
    os.environ["DATABASE_URL"] = embedded_db.ensure_running()

DATABASES = {
    "default": dj_database_url.parse(
        os.environ["DATABASE_URL"], conn_max_age=int(os.environ.get("CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
DATABASES["default"]["TEST"] = {"NAME": os.environ.get("TEST_DATABASE_NAME", "test_loyalty")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- staff logins -----------------------------------------------------------------------------
# Failed logins lock out per account and per address (django-axes); a staff session ends
# after an idle period; messages live in the session, server-side, not in a cookie.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = float(os.environ.get("AXES_COOLOFF_HOURS", "0.5"))  # hours
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # each on its own
AXES_RESET_ON_SUCCESS = True
AXES_ENABLE_ADMIN = False  # loyalty.admin.access shows attempts read-only
AXES_CLIENT_IP_CALLABLE = "core.http.client_ip"
AXES_ENABLE_ACCESS_FAILURE_LOG = True
AXES_VERBOSE = env_bool("AXES_VERBOSE", False)  # lockouts are logged either way
AXES_LOCKOUT_CALLABLE = "loyalty.access_views.login_locked"  # translated, 429
TRUSTED_PROXIES = int(os.environ.get("TRUSTED_PROXIES", "0"))
SESSION_COOKIE_AGE = int(os.environ.get("STAFF_IDLE_MINUTES", "120")) * 60
SESSION_SAVE_EVERY_REQUEST = True  # the age counts from the last request: an idle timeout
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- language and time ----------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
# Figures read with thousands separators (1,234,567) in both languages; config/formats
# gives zh-hans the comma (Django's groups by four with no separator). Numbers that are not
# for reading (ids in URLs and attributes, form values) are written with |unlocalize.
USE_THOUSAND_SEPARATOR = True
FORMAT_MODULE_PATH = ["config.formats"]
TIME_ZONE = "Asia/Shanghai"
USE_TZ = True

# --- static -----------------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# --- security (production defaults; DEBUG relaxes what a laptop cannot do) -------------------
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = 0 if DEBUG else int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
# Preloading puts the domain in the browsers' built-in lists, hard to take back: opt in.
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
if not SECURE_HSTS_PRELOAD:
    SILENCED_SYSTEM_CHECKS = ["security.W021"]  # "SECURE_HSTS_PRELOAD is not True": on purpose
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
# Content-Security-Policy (django-csp). Scripts only from this site or inline with the
# request's nonce (config.headers makes one for every page); inline styles stay allowed
# (the admin's templates use style attributes); no plugins, no framing, no other origin.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [csp.SELF],
        "script-src": [csp.SELF, csp.NONCE],
        "style-src": [csp.SELF, csp.UNSAFE_INLINE],
        "img-src": [csp.SELF, "data:"],
        "connect-src": [csp.SELF],
        "object-src": [csp.NONE],
        "base-uri": [csp.SELF],
        "frame-ancestors": [csp.NONE],
    },
}

# --- the operator console (django-unfold) ---------------------------------------------------
UNFOLD = {
    "SITE_TITLE": _("Loyalty back office"),
    "SITE_HEADER": _("Loyalty back office"),
    "SITE_SYMBOL": "loyalty",
    "SHOW_HISTORY": True,
    "SHOW_VIEW_ON_SITE": False,
    "SHOW_LANGUAGES": False,
    # the sidebar by the work, each entry only for a viewer who may open it
    "SIDEBAR": {"show_search": False, "show_all_applications": False,
                "navigation": "loyalty.console.navigation"},
    "DASHBOARD_CALLBACK": "loyalty.admin.dashboard.dashboard_callback",
}
# The console's pages (django-unfold) run Alpine.js, whose expressions (x-data, x-show, …)
# are compiled with `new Function` — the standard build cannot run under a policy without
# 'unsafe-eval'. It is allowed under /admin/ only (config.headers); every other page keeps the
# policy above.
ADMIN_SCRIPT_SRC = [csp.SELF, csp.NONCE, csp.UNSAFE_EVAL]
ADMIN_PATH_PREFIX = "/admin/"

# --- REST API -------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "loyalty.api.schema.LoyaltyAutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": ["loyalty.api.auth.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["loyalty.api.auth.HasScopes"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "UNAUTHENTICATED_USER": None,
    "EXCEPTION_HANDLER": "loyalty.api.errors.exception_handler",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Loyalty back office API",
    "DESCRIPTION": "",  # loyalty/api/docs.md, set by loyalty.api.schema.describe
    "VERSION": "0.2.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "DEFAULT_GENERATOR_CLASS": "loyalty.api.schema.EnglishSchemaGenerator",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "loyalty.api.schema.describe",
    ],
}
# An Idempotency-Key's response is replayed for this many days; then the daily job removes
# the stored response (personal data) and keeps the key, request hash and status, so a late
# replay gets 409 idempotency_response_expired and is never run again (loyalty.services)
IDEMPOTENCY_RESPONSE_DAYS = 30
# Wrong API keys from one address in a minute before it gets 429 (loyalty.api.auth)
API_KEY_FAILURES_PER_MINUTE = int(os.environ.get("API_KEY_FAILURES_PER_MINUTE", "20"))
# Gift cards: wrong PINs a card takes per 15 minutes, balance enquiries per caller per minute
GIFT_CARD_PIN_FAILURES = int(os.environ.get("GIFT_CARD_PIN_FAILURES", "5"))
GIFT_CARD_ENQUIRIES_PER_MINUTE = int(os.environ.get("GIFT_CARD_ENQUIRIES_PER_MINUTE", "30"))
# The per-key rate limit and the throttles count here; production needs a shared cache
# (`check --deploy` reports a per-process one as an error: loyalty.checks).
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache",
         "LOCATION": os.environ["CACHE_URL"]}
        if os.environ.get("CACHE_URL")
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

# --- health ---------------------------------------------------------------------------------
# /healthz/detail also answers a monitor that sends `Authorization: Bearer <this token>`
# (compared in constant time); unset, only a staff session sees it (loyalty.health).
HEALTH_PROBE_TOKEN = os.environ.get("HEALTH_PROBE_TOKEN", "")

# --- touching members (campaigns.channels, campaigns.services.delivery) ----------------------
# Per channel: the backend (a dotted path; the default records the message in the outbox and
# marks it delivered), its cost per message (yuan), its rate (messages per minute), and for
# the HTTP backend the endpoint and the secret that signs each POST. Environment:
# MESSAGE_<CHANNEL>_BACKEND / _URL / _SECRET / _COST / _PER_MINUTE, e.g. MESSAGE_SMS_URL.
_OUTBOX_BACKEND = "campaigns.channels.OutboxBackend"
_HTTP_BACKEND = "campaigns.channels.HttpBackend"
MESSAGE_CHANNELS = {}
for _channel in ("sms", "wecom", "ai_call", "clerk_call", "in_app"):
    _env = f"MESSAGE_{_channel.upper()}_"
    _url = os.environ.get(_env + "URL", "")
    _default = "campaigns.channels.ClerkCallBackend" if _channel == "clerk_call" else _OUTBOX_BACKEND
    MESSAGE_CHANNELS[_channel] = {
        "backend": os.environ.get(_env + "BACKEND") or (_HTTP_BACKEND if _url else _default),
        "url": _url,
        "secret": os.environ.get(_env + "SECRET", ""),
        "cost": os.environ.get(_env + "COST", "0"),
        "per_minute": int(os.environ.get(_env + "PER_MINUTE", "600")),
    }
MESSAGE_HTTP_TIMEOUT_SECONDS = float(os.environ.get("MESSAGE_HTTP_TIMEOUT_SECONDS", "10"))
MESSAGE_MAX_ATTEMPTS = int(os.environ.get("MESSAGE_MAX_ATTEMPTS", "6"))
MESSAGE_RETRY_BASE_SECONDS = int(os.environ.get("MESSAGE_RETRY_BASE_SECONDS", "30"))
# a claimed message not recorded within this time (its sender died) is sent again
MESSAGE_LEASE_SECONDS = int(os.environ.get("MESSAGE_LEASE_SECONDS", "120"))
# the brand in the 【signature】 of every SMS (a template may name its own)
SMS_SIGNATURE = os.environ.get("SMS_SIGNATURE", "会员俱乐部")

# --- Celery ---------------------------------------------------------------------------------
# Email: sent only when EMAIL_HOST is set (e.g. a webhook owner told of a switch-off); the
# console shows the same notices either way
EMAIL_HOST = os.environ.get("EMAIL_HOST", "")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "587"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "loyalty@localhost")

CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "filesystem://")
if CELERY_BROKER_URL == "filesystem://":
    _queue = BASE_DIR / "var" / "celery" / "queue"
    _processed = BASE_DIR / "var" / "celery" / "processed"
    _control = BASE_DIR / "var" / "celery" / "control"  # exchange tables (default: ./control)
    for _folder in (_queue, _processed, _control):
        _folder.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue),
        "data_folder_out": str(_queue),
        "processed_folder": str(_processed),
        "control_folder": str(_control),
        "store_processed": False,
    }
elif CELERY_BROKER_URL.split("://", 1)[0] in {"redis", "rediss", "sentinel"}:
    # A task taken but not acknowledged goes back on the queue when its worker has not
    # acknowledged it within the visibility timeout (a worker killed outright never will).
    # It must exceed the longest job (a job that outlives it is delivered to a second
    # worker; the chunks still happen once, members.services.batch) and any countdown or ETA.
    # The sweep that puts such tasks back runs every tenth of the timeout (at most 10 s).
    _visibility = int(os.environ.get("CELERY_VISIBILITY_TIMEOUT", "3600"))
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": _visibility,
        "unacked_restore_interval": max(1, min(10, _visibility // 10)),
        "unacked_restore_throttle": 1,
    }
# RabbitMQ gives an unacknowledged task back as soon as its worker's connection drops. It
# also closes a channel whose delivery stays unacknowledged longer than its
# `consumer_timeout` (30 minutes by default): set it above the longest job in rabbitmq.conf
# (README, "Running in production").
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND") or None
CELERY_TIMEZONE = TIME_ZONE
# A task is acknowledged when it ends, not when it starts, and a worker process that dies
# mid-task (killed, out of memory) gives it back to the queue instead of marking it failed;
# batch jobs then carry on from their progress rows (members.services.batch).
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# Seconds to wait after each committed chunk of a batch job (a brake on a busy database)
BATCH_CHUNK_PAUSE_SECONDS = float(os.environ.get("BATCH_CHUNK_PAUSE_SECONDS", "0"))
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BEAT_SCHEDULE = {
    "health-heartbeat": {"task": "loyalty.tasks.health_heartbeat", "schedule": 60.0},
    "webhooks-send": {"task": "loyalty.tasks.send_webhooks", "schedule": 10.0},
    "messages-deliver": {"task": "campaigns.tasks.messages_deliver", "schedule": 10.0},
    "points-unlock": {"task": "points.tasks.unlock_points", "schedule": 15 * 60.0},
    "points-expire": {"task": "points.tasks.expire_points",
                      "schedule": crontab(minute=10, hour=0)},  # 00:10 Asia/Shanghai
    "points-expiry-notices": {"task": "points.tasks.notify_points_expiring",  # after expiry
                              "schedule": crontab(minute=12, hour=0)},
    "stored-value-bonus-expire": {"task": "points.tasks.expire_stored_value_bonus",
                                  "schedule": crontab(minute=12, hour=0)},
    "gift-cards-expire": {"task": "points.tasks.expire_gift_cards",
                          "schedule": crontab(minute=14, hour=0)},
    "tiers-reevaluate": {"task": "tiers.tasks.reevaluate_tiers",
                         "schedule": crontab(minute=20, hour=0)},  # 00:20 Asia/Shanghai
    "tiers-recalculate": {"task": "tiers.tasks.recalculate_tiers",  # acts on the 1st only
                          "schedule": crontab(minute=40, hour=0)},
    "members-insights": {"task": "members.tasks.rebuild_member_insights",  # stats, RFM, tags
                         "schedule": crontab(minute=0, hour=2)},  # 02:00 Asia/Shanghai
    "idempotency-prune": {"task": "loyalty.tasks.prune_idempotency_keys",
                          "schedule": crontab(minute=30, hour=3)},
    "coupons-expire": {"task": "points.tasks.expire_coupons",
                       "schedule": crontab(minute=5)},  # hourly: coupons end at any hour
    # benefits and paid membership (Asia/Shanghai): lapse before decay, expire before grant
    "paid-lapse": {"task": "tiers.tasks.lapse_paid_memberships",
                   "schedule": crontab(minute=5, hour=0)},
    "growth-decay": {"task": "tiers.tasks.decay_growth", "schedule": crontab(minute=15, hour=0)},
    "benefit-grants-expire": {"task": "tiers.tasks.expire_benefit_grants",
                              "schedule": crontab(minute=25, hour=0)},
    "benefit-grants": {"task": "tiers.tasks.grant_benefits",
                       "schedule": crontab(minute=30, hour=0)},
    "points-holds-expire": {"task": "points.tasks.expire_holds", "schedule": 60.0},
    "points-verify-ledger": {"task": "points.tasks.verify_ledger",
                             "schedule": crontab(minute=45, hour=4)},  # nightly, incremental
    "points-verify-ledger-full": {"task": "points.tasks.verify_ledger", "kwargs": {"full": True},
                                  "schedule": crontab(minute=0, hour=5, day_of_week=0)},
    "points-liability-rollup": {"task": "points.tasks.rollup_liability",
                                "schedule": crontab(minute=5)},  # hourly
    # the dashboard's facts of the day just ended, after the nightly member statistics
    "dashboard-facts": {"task": "loyalty.tasks.build_dashboard_facts",
                        "schedule": crontab(minute=10, hour=3)},  # 03:10 Asia/Shanghai
    "batch-runs-prune": {"task": "members.tasks.prune_batch_runs",
                         "schedule": crontab(minute=50, hour=3)},
    # campaigns: due occasions start, pause / resume / cancel are honoured within a minute
    "campaigns-run-due": {"task": "campaigns.tasks.campaigns_run_due", "schedule": 60.0},
    # event triggers: the commit-ordered feed every 10 s; the time-based scan after the
    # nightly member statistics (02:00) so lapses see yesterday's purchases
    "campaigns-poll-triggers": {"task": "campaigns.tasks.campaigns_poll_triggers",
                                "schedule": 10.0},
    "campaigns-scan-triggers": {"task": "campaigns.tasks.campaigns_scan_triggers",
                                "schedule": crontab(minute=30, hour=4)},  # 04:30 Asia/Shanghai
}

# One line per event on the console: 4xx answers without a traceback (the client's mistake;
# 5xx keep theirs), the development server's access log without static files and health
# checks; mobile numbers in query strings masked on every handler. Django's own loggers
# write here once (not also through its default handlers).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "client_errors_in_one_line": {"()": "config.log_filters.ClientErrorsInOneLine"},
        "mask_mobiles": {"()": "config.log_filters.MaskMobilesInQueries"},
        "quiet_server_requests": {"()": "config.log_filters.QuietServerRequests"},
        "request_id": {"()": "loyalty.api.middleware.RequestIdLogFilter"},
        "require_debug_false": {"()": "django.utils.log.RequireDebugFalse"},
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "django.server": {"()": "django.utils.log.ServerFormatter",
                          "format": "[{server_time}] {message}", "style": "{"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain",
                    "filters": ["request_id", "client_errors_in_one_line", "mask_mobiles"]},
        "django.server": {"class": "logging.StreamHandler", "formatter": "django.server",
                          "filters": ["quiet_server_requests", "mask_mobiles"]},
        "mail_admins": {"level": "ERROR", "filters": ["require_debug_false", "mask_mobiles"],
                        "class": "django.utils.log.AdminEmailHandler"},
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django": {"handlers": ["console", "mail_admins"], "level": "INFO",
                   "propagate": False},
        "django.server": {"handlers": ["django.server"], "level": "INFO", "propagate": False},
    },
}
