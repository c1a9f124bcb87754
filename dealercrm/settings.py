"""DealerCRM settings, read from the environment (twelve-factor).

Production needs at least DJANGO_SECRET_KEY, DATABASE_URL, REDIS_URL, PUBLIC_BASE_URL and
DJANGO_ALLOWED_HOSTS; see README.md. `./dev start` and `./dev test` fill DATABASE_URL and
REDIS_URL with the local or embedded services when they are unset.
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from celery.schedules import schedule
from csp.constants import NONCE, NONE, SELF
from kombu import Exchange, Queue

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG")
# pytest sets PYTEST_VERSION: tests run with production settings except HTTPS redirects and
# secure-only cookies, since the test client and the live test server speak plain HTTP.
TESTING = bool(os.environ.get("PYTEST_VERSION"))
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG and not TESTING:
        raise RuntimeError("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off")
    SECRET_KEY = "dev-only-insecure-key-never-use-in-production-0123456789abcdef"

PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "http://localhost:8000").rstrip("/")
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", PUBLIC_BASE_URL)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",  # OpClass in index expressions (leads.Customer)
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "phonenumber_field",
    "anymail",
    "axes",
    "csp",
    "org",
    "live",
    "leads",
    "dealcoverage",
    "distribution",
    "telephony",
    # The features that combine them (they own no tables), then the development tools.
    "followup",
    "today",
    "reporting",
    "devtools",  # the demo store and ./dev's services; no product app imports it
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "org.middleware.StoreTimezoneMiddleware",
    # Last, as axes asks: turns a locked-out sign-in into org.signin's 429 page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "dealercrm.urls"
WSGI_APPLICATION = "dealercrm.wsgi.application"
ASGI_APPLICATION = "dealercrm.asgi.application"

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
                "org.context_processors.staff",
                "telephony.context_processors.sandbox",
            ],
        },
    },
]

# PostgreSQL only: the append-only trigger, row locks and skip_locked sweepers need it.
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/dealercrm"),
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
# A pool of connections per process (psycopg's, through Django): what the ASGI server uses
# (dealercrm/asgi.py sets DATABASE_POOL_SIZE), where every request runs in a thread of its own and
# a kept connection would stay behind unused; without it each request opened a new connection
# (bench/live.py, the bell at 50 requests/s: about 10 ms of server CPU a request under ASGI with a
# new connection each, 8 ms with the pool, 6-7 ms under WSGI; and at 300/s the connections ran out).
DATABASE_POOL_SIZE = int(os.environ.get("DATABASE_POOL_SIZE", "0"))
if DATABASE_POOL_SIZE > 0:
    DATABASES["default"]["CONN_MAX_AGE"] = 0  # the pool keeps them; Django must not as well
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = False
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1,
        "max_size": DATABASE_POOL_SIZE,
        "timeout": float(os.environ.get("DATABASE_POOL_TIMEOUT", "10")),
        "max_idle": 300,
    }
if os.environ.get("TEST_DATABASE_SUFFIX"):
    # `./dev test` runs its clock step beside the suite, each on a test database of its own.
    DATABASES["default"]["TEST"] = {"NAME": f"test_{DATABASES['default']['NAME']}_{os.environ['TEST_DATABASE_SUFFIX']}"}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
CACHES = {
    "default": {
        "BACKEND": "dealercrm.cache.FailSoftRedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "dealercrm"),
        # Short timeouts: a Redis that is down or frozen costs a page half a second, once per
        # back-off, and the page runs without the cache (dealercrm/cache.py).
        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
    }
}
CACHE_BACKOFF_SECONDS = float(os.environ.get("CACHE_BACKOFF_SECONDS", "5"))

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Sign-in throttling (django-axes, org/signin.py): failed sign-ins counted per account and per
# address over the cool-off; the axes backend goes first so a locked account is refused even
# with the right password.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = int(os.environ.get("LOGIN_FAILURE_LIMIT", "5"))
LOGIN_ADDRESS_FAILURE_LIMIT = int(os.environ.get("LOGIN_ADDRESS_FAILURE_LIMIT", "20"))
if AXES_FAILURE_LIMIT < 1 or LOGIN_ADDRESS_FAILURE_LIMIT < AXES_FAILURE_LIMIT:
    raise RuntimeError("LOGIN_FAILURE_LIMIT must be 1 or more and LOGIN_ADDRESS_FAILURE_LIMIT at least as much")
AXES_COOLOFF_TIME = timedelta(minutes=float(os.environ.get("LOGIN_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_HANDLER = "org.signin.SigninHandler"
AXES_LOCKOUT_CALLABLE = "org.signin.lockout_response"
AXES_CLIENT_IP_CALLABLE = "org.clientip.client_ip"
# A try while locked out is refused without being counted, so the wait shown is the real one.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
# org.signin forgives only the person's own failures from that address on success.
AXES_RESET_ON_SUCCESS = False
AXES_HTTP_RESPONSE_CODE = 429

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TIME_ZONE", "America/Chicago")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG and not TESTING
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / ".data" / "media"))

# Security: on by default, relaxed only for local development.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", not DEBUG and not TESTING)
SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", not DEBUG and not TESTING)
CSRF_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", not DEBUG and not TESTING)
SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_HSTS_SECONDS", "0" if DEBUG else "31536000"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
X_FRAME_OPTIONS = "DENY"

# Content-Security-Policy (django-csp): scripts and styles only from our own static files (no
# inline script, no style="" attribute, no eval); <script> tags carry the request's nonce, the one
# way an inline script could ever be allowed. Pages that need more (the API docs) widen it
# for themselves with csp.decorators.csp_update. See README, "Content-Security-Policy".
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF],
        "img-src": [SELF],
        "media-src": [SELF],
        "connect-src": [SELF],
        "font-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

PHONENUMBER_DEFAULT_REGION = os.environ.get("PHONENUMBER_DEFAULT_REGION", "US")
PHONENUMBER_DB_FORMAT = "E164"

REST_FRAMEWORK = {
    # Token first, so a request without credentials gets 401 with a WWW-Authenticate header.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "org.authentication.StaffTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON nested thousands deep is refused with a 400, not a RecursionError (issue 14).
    "DEFAULT_PARSER_CLASSES": [
        "dealercrm.parsers.BoundedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "common.pagination.FastPageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    # drf-spectacular's, plus the 400/401/403/404 answers each operation can give.
    "DEFAULT_SCHEMA_CLASS": "org.schema.AutoSchema",
    "EXCEPTION_HANDLER": "common.api.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "DealerCRM API",
    "DESCRIPTION": "Leads, customers, contact events and everything else of DealerCRM.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI from our own static files: the docs work on a network without internet.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "LeadStatusEnum": "leads.models.LeadStatus.choices",
        "IntakeChannelEnum": "leads.models.IntakeChannel.choices",
        "ContactChannelEnum": "leads.models.Channel.choices",
        "LoggableChannelEnum": "leads.serializers.LOGGABLE_CHANNELS",
        "TaskChannelEnum": "followup.serializers.TASK_CHANNELS",
    },
}

# Celery: Redis broker, JSON only, late acks so a task a dying worker held is redelivered.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", REDIS_URL)
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# No task may run longer than this: the worker kills it (prefork pool). Ours take well under a
# second (routing, a sweep's share, a text), a few seconds (a sandbox call) or, at worst, a
# recording download bounded by its own connect/read timeouts (5 s, 60 s). A task killed here
# is retried by its deadline column like any lost one.
CELERY_TASK_TIME_LIMIT = int(os.environ.get("CELERY_TASK_TIME_LIMIT", "120"))
# A message a worker took but never acknowledged (the worker was killed) goes back to its queue
# once it is this old: longer than the longest a task may run (the limit above, plus a margin for
# the wait between being taken and starting), or a task still running would be delivered again,
# and no longer, so a killed worker's messages come back within minutes instead of an hour. Every
# task is idempotent and backed by a deadline column, so a second delivery or a lost one is safe.
# kombu looks for such messages every unacked_restore_interval seconds (throttle 1: every time).
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": CELERY_TASK_TIME_LIMIT + 60,
    "unacked_restore_interval": 10,
    "unacked_restore_throttle": 1,
}
# Two queues: nudges (a new lead's routing, a staff text, a recording fetch) and the periodic
# sweeps with their chunks of due work. A worker consumes both, taking from each in turn, so a
# fresh lead's nudge never waits behind a backlog the sweepers are draining. `./dev start` and a
# plain `celery worker` consume both; `-Q` can give each its own workers (README, scale-out).
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("CELERY_QUEUE", "dealercrm")
SWEEP_QUEUE = f"{CELERY_TASK_DEFAULT_QUEUE}-sweeps"
CELERY_TASK_QUEUES = [Queue(name, Exchange(name), routing_key=name) for name in (CELERY_TASK_DEFAULT_QUEUE, SWEEP_QUEUE)]
CELERY_TASK_ROUTES = {
    name: {"queue": SWEEP_QUEUE}
    for name in (
        "distribution.tasks.sweep_task",
        "distribution.tasks.route_due_task",
        "leads.tasks.lead_route_due_task",
        "leads.tasks.followup_sweep_task",
        "leads.tasks.salesboard_refresh_task",
        "leads.tasks.salesboard_refresh_due_task",
        "telephony.tasks.call_recordings_due_task",
        "telephony.tasks.calls_reconcile_task",
    )
}
# Beat logs one line when the broker goes away and one when it is back, not a traceback a tick.
CELERY_BEAT_SCHEDULER = "dealercrm.beat:Scheduler"
CELERY_TIMEZONE = "UTC"
# A nudge (leads.nudges) gives the broker this long to connect and answer, and after a failure
# skips nudges for NUDGE_BACKOFF_SECONDS: the deadline columns and the sweepers do the work.
NUDGE_TIMEOUT_SECONDS = float(os.environ.get("NUDGE_TIMEOUT_SECONDS", "0.5"))
NUDGE_BACKOFF_SECONDS = float(os.environ.get("NUDGE_BACKOFF_SECONDS", "5"))
# The routing sweep hands due leads to the workers in chunks of this many leads (one task
# each, claimed with SKIP LOCKED), at most SWEEP_CHUNKS_MAX chunks a pass.
SWEEP_CHUNK_LEADS = int(os.environ.get("SWEEP_CHUNK_LEADS", "20"))
SWEEP_CHUNKS_MAX = int(os.environ.get("SWEEP_CHUNKS_MAX", "25"))
CELERY_BEAT_SCHEDULE = {
    # Routing, claim-pool limits, response warnings and reassignments, staff alert texts.
    "distribution-sweep": {
        "task": "distribution.tasks.sweep_task",
        "schedule": schedule(timedelta(seconds=float(os.environ.get("SWEEP_SECONDS", "5")))),
    },
    # Tasks falling due, appointment reminders and no-shows.
    "leads-followup-sweep": {
        "task": "leads.tasks.followup_sweep_task",
        "schedule": schedule(timedelta(seconds=float(os.environ.get("FOLLOWUP_SWEEP_SECONDS", "15")))),
    },
    "telephony-recordings-due": {"task": "telephony.tasks.call_recordings_due_task", "schedule": schedule(timedelta(seconds=60))},
    # Calls whose status callbacks never came: asked of Twilio and settled.
    "telephony-calls-reconcile": {
        "task": "telephony.tasks.calls_reconcile_task",
        "schedule": schedule(timedelta(seconds=float(os.environ.get("CALL_RECONCILE_SWEEP_SECONDS", "60")))),
    },
    # Sales board snapshots (reporting.salesboard): pre-aggregated so the board opens fast.
    "leads-salesboard-refresh": {"task": "leads.tasks.salesboard_refresh_due_task", "schedule": schedule(timedelta(seconds=60))},
    # Live events older than LIVE_EVENT_KEEP_HOURS (a stream away that long reloads its page parts).
    "live-prune": {"task": "live.tasks.prune_task", "schedule": schedule(timedelta(hours=1))},
}

# Server push (live/): streams under the ASGI server, fed by PostgreSQL's LISTEN/NOTIFY.
LIVE_HEARTBEAT_SECONDS = float(os.environ.get("LIVE_HEARTBEAT_SECONDS", "20"))  # under any proxy's idle timeout
# Then the browser reconnects and resumes: a reconnect costs the server about 7 ms, so 1,500 open
# streams cost 0.3 % of a core more at 1,800 s (bench/live.py). Pages check permissions on every
# reload, so a stream outliving a role change or a sign-out only says "something changed".
LIVE_STREAM_SECONDS = float(os.environ.get("LIVE_STREAM_SECONDS", "1800"))
LIVE_RETRY_MS = int(os.environ.get("LIVE_RETRY_MS", "2000"))  # how soon EventSource reconnects after a drop
LIVE_LISTEN_WAIT_SECONDS = float(os.environ.get("LIVE_LISTEN_WAIT_SECONDS", "5"))
LIVE_EVENT_KEEP_HOURS = int(os.environ.get("LIVE_EVENT_KEEP_HOURS", "24"))
# The listening connection of each web process (LISTEN needs a session of its own): unset, the
# app's database; behind PgBouncer in transaction mode, a URL of PostgreSQL itself.
LIVE_DATABASE_URL = os.environ.get("LIVE_DATABASE_URL", "")

# Intake
LEAD_DUPLICATE_WINDOW_DAYS = int(os.environ.get("LEAD_DUPLICATE_WINDOW_DAYS", "30"))
INTAKE_MAX_BYTES = int(os.environ.get("INTAKE_MAX_BYTES", str(512 * 1024)))
WEB_FORM_RATE = os.environ.get("WEB_FORM_RATE", "5/m")
RATELIMIT_USE_CACHE = "default"
# While Redis is down the web form takes leads without counting them: a lead is worth more than
# a minute of spam protection, and the honeypot still works.
RATELIMIT_FAIL_OPEN = True
RATELIMIT_IP_META_KEY = "org.clientip.client_ip"

# How many reverse proxies (TLS terminator, load balancer) stand between the internet and the
# app, each appending to X-Forwarded-For. 0: the connecting address is the visitor's and
# X-Forwarded-For is ignored, so it can't be forged to escape a limit. See org/clientip.py.
TRUSTED_PROXY_COUNT = int(os.environ.get("TRUSTED_PROXY_COUNT", "0"))
if TRUSTED_PROXY_COUNT < 0:
    raise RuntimeError("TRUSTED_PROXY_COUNT must be 0 or more")

# Twilio (telephony issue). The local telephony sandbox (a fake Twilio whose events are
# "simulated", never "verified") runs only when TELEPHONY_SANDBOX is set: `./dev start` sets it;
# missing credentials never turn it on, and `check --deploy` refuses neither (telephony.E001).
TELEPHONY_SANDBOX = env_bool("TELEPHONY_SANDBOX")
TWILIO_ACCOUNT_SID = os.environ.get("TWILIO_ACCOUNT_SID", "")
TWILIO_AUTH_TOKEN = os.environ.get("TWILIO_AUTH_TOKEN", "")
# Dotted path of the HTTP client twilio.rest.Client uses with the credentials above; empty in
# production. Tests fake Twilio at the HTTP boundary with the sandbox's client.
TWILIO_HTTP_CLIENT = os.environ.get("TWILIO_HTTP_CLIENT", "")
if TESTING:
    # Real-looking credentials, Twilio faked only at the HTTP boundary: what the tests record
    # is verified exactly as in production (tests/conftest.py keeps these per test).
    TWILIO_ACCOUNT_SID = os.environ.get("TWILIO_ACCOUNT_SID", "AC" + "7e57" * 8)
    TWILIO_AUTH_TOKEN = os.environ.get("TWILIO_AUTH_TOKEN", "0123456789abcdef0123456789abcdef")
    TWILIO_HTTP_CLIENT = os.environ.get("TWILIO_HTTP_CLIENT", "telephony.sandbox.SandboxHttpClient")
TWILIO_MIN_TALK_SECONDS = int(os.environ.get("TWILIO_MIN_TALK_SECONDS", "30"))
# A call whose status callbacks have not settled it this long after it started is looked up
# with Twilio's REST API (telephony.reconcile) and settled from the answer.
CALL_RECONCILE_AFTER_SECONDS = int(os.environ.get("CALL_RECONCILE_AFTER_SECONDS", "300"))

# Email: any Django/anymail backend, e.g. anymail.backends.mailgun.EmailBackend.
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "sales@dealercrm.localhost")
EMAIL_REPLY_DOMAIN = os.environ.get("EMAIL_REPLY_DOMAIN", "reply.dealercrm.localhost")
ANYMAIL = {
    key: value
    for key, value in {
        "MAILGUN_API_KEY": os.environ.get("MAILGUN_API_KEY"),
        "MAILGUN_WEBHOOK_SIGNING_KEY": os.environ.get("MAILGUN_WEBHOOK_SIGNING_KEY"),
        "POSTMARK_SERVER_TOKEN": os.environ.get("POSTMARK_SERVER_TOKEN"),
        "WEBHOOK_SECRET": os.environ.get("ANYMAIL_WEBHOOK_SECRET"),
    }.items()
    if value
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    # axes logs every sign-in at INFO; its failures and lockouts are WARNING.
    "loggers": {"django.db.backends": {"level": "WARNING"}, "axes": {"level": "WARNING"}},
}
