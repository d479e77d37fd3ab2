"""Settings, read from the environment.

DATABASE_URL      unset: an embedded PostgreSQL under ./var/ (started on demand)
CELERY_BROKER_URL unset: the filesystem transport under ./var/celery (no server needed)
SECRET_KEY, DEBUG, ALLOWED_HOSTS, CSRF_TRUSTED_ORIGINS, SECURE_SSL_REDIRECT
"""

import os
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
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
    "django.contrib.admin",
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
    # the layers, bottom up: each imports only the ones above it in this list
    "members",
    "points",
    "tiers",
    "campaigns",
    "loyalty",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
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
SECURE_HSTS_PRELOAD = not DEBUG
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"

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
    "DESCRIPTION": (
        "Authenticate with `Authorization: Bearer lk_<prefix>_<secret>`. Every error has the "
        "shape `{\"error\": {\"code\", \"message\", \"details\"}}` with a stable code. "
        "POSTs that move points need an `Idempotency-Key` header; sales and returns are "
        "idempotent by store + order number."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache",
         "LOCATION": os.environ["CACHE_URL"]}
        if os.environ.get("CACHE_URL")
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

# --- Celery ---------------------------------------------------------------------------------
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "filesystem://")
if CELERY_BROKER_URL == "filesystem://":
    _queue = BASE_DIR / "var" / "celery" / "queue"
    _processed = BASE_DIR / "var" / "celery" / "processed"
    for _folder in (_queue, _processed):
        _folder.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue),
        "data_folder_out": str(_queue),
        "processed_folder": str(_processed),
        "store_processed": False,
    }
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND") or None
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BEAT_SCHEDULE = {
    "health-heartbeat": {"task": "loyalty.tasks.health_heartbeat", "schedule": 60.0},
    "points-unlock": {"task": "points.tasks.unlock_points", "schedule": 15 * 60.0},
    "points-expire": {"task": "points.tasks.expire_points",
                      "schedule": crontab(minute=10, hour=0)},  # 00:10 Asia/Shanghai
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
    "points-liability-rollup": {"task": "points.tasks.rollup_liability",
                                "schedule": crontab(minute=5)},  # hourly
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}
