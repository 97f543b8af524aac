"""SupportDesk settings: one module, driven by environment variables (see README "Configuration").

Secrets have no production default: with DJANGO_DEBUG off, a missing DJANGO_SECRET_KEY stops start-up.
"""

from pathlib import Path

import environ
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _
from kombu import Queue

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

DEBUG = env.bool("DJANGO_DEBUG", default=False)

if DEBUG:
    SECRET_KEY = env("DJANGO_SECRET_KEY", default="insecure-development-key-do-not-use-in-production")
else:
    try:
        SECRET_KEY = env("DJANGO_SECRET_KEY")
    except ImproperlyConfigured as exc:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off "
            "(generate one with: python -c 'import secrets; print(secrets.token_urlsafe(50))')."
        ) from exc

# The key for the HMAC of ID numbers. Kept separate from SECRET_KEY so that rotating the session key
# does not break matching of ID numbers across appeals: required in production, never derived.
if DEBUG:
    ID_NUMBER_HMAC_KEY = env("ID_NUMBER_HMAC_KEY", default=SECRET_KEY)
else:
    try:
        ID_NUMBER_HMAC_KEY = env("ID_NUMBER_HMAC_KEY")
    except ImproperlyConfigured as exc:
        raise ImproperlyConfigured(
            "ID_NUMBER_HMAC_KEY must be set when DJANGO_DEBUG is off, to its own value (not DJANGO_SECRET_KEY), "
            "and never changed: ID numbers are matched across appeals by this key. Generate one with: "
            "python -c 'import secrets; print(secrets.token_urlsafe(50))'."
        ) from exc

ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])

SITE_URL = env("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "axes",
    # Staff two-factor (supportdesk/two_factor/): TOTP, recovery codes and passkeys, all django-otp devices.
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "django_otp_webauthn",
    "csp",
    "crispy_forms",
    "crispy_bootstrap5",
    "rest_framework",
    "rest_framework_api_key",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "mozilla_django_oidc",  # no models; its views answer only with OIDC_ENABLED (supportdesk/sso.py)
    "tickets",
    "evidence",
    "integrations",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    # Before anything reads the path or the body: 400 on a NUL byte, 413 on a body over the limit.
    "supportdesk.middleware.MalformedPathMiddleware",
    "supportdesk.middleware.RequestBodyLimitMiddleware",
    "supportdesk.middleware.NoStoreMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # request.user.is_verified(): signed in with a second factor in this session.
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Signed-in staff: idle timeout, absolute lifetime, "sign out everywhere" (after auth and messages).
    "supportdesk.middleware.StaffSessionMiddleware",
    # Staff without a second factor in this session reach only the two-factor pages (after the above:
    # an expired session is signed out first).
    "supportdesk.two_factor.middleware.StaffSecondFactorMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "supportdesk.middleware.ContentSecurityPolicyMiddleware",
    "django_ratelimit.middleware.RatelimitMiddleware",
    # Last, as django-axes requires: it answers locked-out logins.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "supportdesk.urls"

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
                "supportdesk.context_processors.site",
                "supportdesk.context_processors.periods",
            ],
        },
    },
]

WSGI_APPLICATION = "supportdesk.wsgi.application"

# --- Database -----------------------------------------------------------------------------------
# PostgreSQL in production and CI; SQLite under var/ as the embedded default for a first run.
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'var' / 'db.sqlite3'}"),
}
# Persistent connections: each gunicorn thread (and Celery worker process) keeps its connection for
# up to a minute instead of opening one per request (~8 ms of connection setup and a new PostgreSQL
# backend each time). Django checks a reused connection before a request uses it (health checks), so
# a restarted database costs one failed check, not a failed request. 0 restores one per request.
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DATABASE_CONN_MAX_AGE", default=60))
DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web server and the Celery worker write to the same file: wait for locks, take them early.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: Celery broker, cache (rate limits) ----------------------------------------------------
REDIS_URL = env("REDIS_URL", default="redis://127.0.0.1:6379/0")
# The cache may live in another Redis database than the broker, so clearing one never drops the other.
REDIS_CACHE_URL = env("REDIS_CACHE_URL", default=REDIS_URL)

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_CACHE_URL,
        "KEY_PREFIX": "supportdesk",
        "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
    }
}

CELERY_BROKER_URL = REDIS_URL
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Publishing happens after commit; a broker outage must not hang the request for long.
# The outbox beat task delivers whatever could not be enqueued.
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
}
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": 3600,
    "socket_connect_timeout": 2,
    "socket_timeout": 5,
}
CELERY_TIMEZONE = "Asia/Shanghai"
# Queues: evidence processing has its own queue and its own worker, so that no upload, however slow
# to decode or render, can delay an e-mail or an SLA sweep. Run one worker per queue:
#   celery -A supportdesk worker -Q celery      (e-mail, SLA, appeals)
#   celery -A supportdesk worker -Q evidence    (evidence processing and retention)
# A worker started without -Q consumes both (a single worker still runs everything, just unisolated).
CELERY_TASK_DEFAULT_QUEUE = "celery"
EVIDENCE_QUEUE = "evidence"
CELERY_TASK_QUEUES = [Queue(CELERY_TASK_DEFAULT_QUEUE), Queue(EVIDENCE_QUEUE)]
CELERY_TASK_ROUTES = {
    "evidence.tasks.*": {"queue": "evidence"},
}
# Time limits, in seconds: at the soft limit the task gets an exception and cleans up; at the hard
# limit the worker process running it is replaced. Every task has both: these defaults, or its own below.
CELERY_TASK_SOFT_TIME_LIMIT = 60
CELERY_TASK_TIME_LIMIT = 90
EVIDENCE_PROCESS_SOFT_TIME_LIMIT = env.int("EVIDENCE_PROCESS_SOFT_TIME_LIMIT", default=60)
EVIDENCE_PROCESS_TIME_LIMIT = env.int("EVIDENCE_PROCESS_TIME_LIMIT", default=EVIDENCE_PROCESS_SOFT_TIME_LIMIT + 30)
# A file whose processing was cut off this many times (hard limit, worker killed) is refused.
EVIDENCE_MAX_PROCESSING_ATTEMPTS = 3
# Webhooks (integrations/webhooks/): one POST per attempt, bounded by this timeout (connect and read).
WEBHOOK_TIMEOUT_SECONDS = env.int("WEBHOOK_TIMEOUT_SECONDS", default=10)
CELERY_TASK_TIME_LIMITS = {  # task: (soft, hard)
    "tickets.tasks.email_deliver": (30, 45),  # one SMTP conversation
    "tickets.tasks.appeal_tracking_link_send": (30, 45),  # one look-up and one outbox row
    "tickets.tasks.appeal_submitted": (60, 90),  # queues a few files, renders and sends one e-mail
    "tickets.tasks.outbox_deliver_pending": (240, 300),  # up to 200 e-mails
    "tickets.tasks.sla_sweep": (240, 300),  # batched over every open appeal
    "tickets.tasks.appeals_abandon_stale": (240, 300),
    "integrations.tasks.webhook_deliver": (WEBHOOK_TIMEOUT_SECONDS + 20, WEBHOOK_TIMEOUT_SECONDS + 35),  # one POST
    "integrations.tasks.webhook_deliver_pending": (240, 300),  # stops taking deliveries after WEBHOOK_SWEEP_BUDGET
    "tickets.tasks.fulfilment_overdue_sweep": (240, 300),  # batched over the overdue releases
    "tickets.tasks.release_sweep": (240, 300),  # batched over the holds that ended
    "tickets.tasks.assignment_sweep": (240, 300),  # batched over the waiting appeals
    "tickets.tasks.assignment_run": (60, 90),  # one appeal, or one agent's free places
    "tickets.tasks.risk_weights_reapply": (600, 660),  # every open appeal's stored score, in batches
    "evidence.tasks.evidence_process": (EVIDENCE_PROCESS_SOFT_TIME_LIMIT, EVIDENCE_PROCESS_TIME_LIMIT),
    "evidence.tasks.evidence_process_pending": (30, 45),  # only queues the files again
    "evidence.tasks.evidence_purge_expired": (600, 660),  # deletes up to 1000 files
    "evidence.tasks.evidence_orphans_sweep": (1500, 1800),  # walks the whole evidence directory
    "evidence.tasks.evidence_reason_digest": (120, 180),  # one day's reasons, one e-mail per supervisor
}
CELERY_TASK_ANNOTATIONS = {
    name: {"soft_time_limit": soft, "time_limit": hard} for name, (soft, hard) in CELERY_TASK_TIME_LIMITS.items()
}
OUTBOX_SWEEP_SECONDS = env.int("OUTBOX_SWEEP_SECONDS", default=60)
# Outbox delivery claim: a row left "sending" by a worker that died is sent again (same Message-ID)
# only after this lease. Keep it well above EMAIL_TIMEOUT and the e-mail task's time limit.
OUTBOX_SENDING_LEASE_SECONDS = 15 * 60
SLA_SWEEP_SECONDS = env.int("SLA_SWEEP_SECONDS", default=60)
CELERY_BEAT_SCHEDULE = {
    "outbox-deliver-pending": {
        "task": "tickets.tasks.outbox_deliver_pending",
        "schedule": OUTBOX_SWEEP_SECONDS,
    },
    "sla-sweep": {
        "task": "tickets.tasks.sla_sweep",
        "schedule": SLA_SWEEP_SECONDS,
    },
    "evidence-process-pending": {
        "task": "evidence.tasks.evidence_process_pending",
        "schedule": OUTBOX_SWEEP_SECONDS,
    },
    "evidence-purge-expired": {
        "task": "evidence.tasks.evidence_purge_expired",
        "schedule": 60 * 60,
    },
    "appeals-abandon-stale": {
        "task": "tickets.tasks.appeals_abandon_stale",
        "schedule": 15 * 60,
    },
    # Held approvals whose security hold has ended are released to the platform.
    "release-sweep": {
        "task": "tickets.tasks.release_sweep",
        "schedule": SLA_SWEEP_SECONDS,
    },
    "fulfilment-overdue-sweep": {
        "task": "tickets.tasks.fulfilment_overdue_sweep",
        "schedule": 5 * 60,
    },
    # Evidence files no row references (a submission that failed half-way), once a day old.
    "evidence-orphans-sweep": {
        "task": "evidence.tasks.evidence_orphans_sweep",
        "schedule": 6 * 60 * 60,
    },
    # The supervisors' daily digest of the reasons given to see evidence: yesterday's (Beijing time),
    # once per day (a second run sends nothing); hourly, so that a beat down at midnight still sends it.
    "evidence-reason-digest": {
        "task": "evidence.tasks.evidence_reason_digest",
        "schedule": 60 * 60,
    },
}
WEBHOOK_SWEEP_SECONDS = env.int("WEBHOOK_SWEEP_SECONDS", default=60)
CELERY_BEAT_SCHEDULE["webhook-deliver-pending"] = {
    "task": "integrations.tasks.webhook_deliver_pending",
    "schedule": WEBHOOK_SWEEP_SECONDS,
}
# The sweep delivers one by one and stops taking new deliveries after this many seconds (its soft
# time limit is 240 s; one attempt lasts at most WEBHOOK_TIMEOUT_SECONDS twice: connect, then read).
WEBHOOK_SWEEP_BUDGET_SECONDS = 150
# Seconds between attempts after each failure: 5 s, 1 min, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h (about
# 28 h in all); the attempt after the last one is the last.
WEBHOOK_RETRY_SCHEDULE = [5, 60, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 10 * 3600]
# A delivery left "sending" by a worker that died is sent again (same webhook-id) after this lease.
WEBHOOK_SENDING_LEASE_SECONDS = 5 * 60
# A subscription is disabled (and the administrators e-mailed) after this many deliveries in a row
# failed for good, or when it has failed without a single success for WEBHOOK_DISABLE_AFTER_HOURS.
WEBHOOK_DISABLE_AFTER_FAILURES = env.int("WEBHOOK_DISABLE_AFTER_FAILURES", default=5)
WEBHOOK_DISABLE_AFTER_HOURS = env.int("WEBHOOK_DISABLE_AFTER_HOURS", default=24)
# After a secret rotation, the previous secret still signs every delivery for this long.
WEBHOOK_SECRET_OVERLAP_HOURS = env.int("WEBHOOK_SECRET_OVERLAP_HOURS", default=24)
# Networks (CIDR) a webhook may be delivered to although they are not public, and over plain http:
# none in production. `make run` and the tests use 127.0.0.1/32 for a local receiver.
WEBHOOK_ALLOWED_NETWORKS = env.list("WEBHOOK_ALLOWED_NETWORKS", default=[])
ABANDON_AFTER_DAYS = env.int("ABANDON_AFTER_DAYS", default=14)
# Automatic assignment (tickets/assignment/): off, agents claim and supervisors assign by hand, as before.
# On: a new (or reopened, or answered and unassigned) appeal goes to an on-duty agent with room and the
# skills for it, and whenever an agent's capacity frees up they get the longest-waiting appeal they can
# take; a beat sweep every ASSIGNMENT_SWEEP_SECONDS assigns whatever still waits. Strategy:
# "least_loaded" (fewest open appeals held) or "round_robin" (each agent in turn).
ASSIGNMENT_AUTOMATIC = env.bool("ASSIGNMENT_AUTOMATIC", default=False)
ASSIGNMENT_STRATEGY = env.str("ASSIGNMENT_STRATEGY", default="least_loaded")
if ASSIGNMENT_STRATEGY not in ("least_loaded", "round_robin"):
    raise ImproperlyConfigured('ASSIGNMENT_STRATEGY must be "least_loaded" or "round_robin".')
ASSIGNMENT_SWEEP_SECONDS = env.int("ASSIGNMENT_SWEEP_SECONDS", default=60)
# The safety net of automatic assignment: assigns what still waits (nothing while it is off).
CELERY_BEAT_SCHEDULE["assignment-sweep"] = {
    "task": "tickets.tasks.assignment_sweep",
    "schedule": ASSIGNMENT_SWEEP_SECONDS,
}
# Hours after its release by which the platform must report an approved appeal carried out (or failed);
# past them the fulfilment sweep alerts the assignee and the supervisors, once per release.
FULFILMENT_OVERDUE_HOURS = env.int("FULFILMENT_OVERDUE_HOURS", default=24)
# The risk score (0-100, tickets/risk/services.py): from this score an appeal is in the "High risk"
# queue and needs two people to approve it, whatever its type.
RISK_HIGH_THRESHOLD = env.int("RISK_HIGH_THRESHOLD", default=70)
# At most this many appeals in 30 days for one ID number, phone, e-mail or device ID: the next is
# refused on the form (and the API) with a clear message, and nothing is stored.
RISK_VELOCITY_CAP = env.int("RISK_VELOCITY_CAP", default=5)
# The security hold (tickets/services/hold.py): an approval of a high-risk type, or of an appeal scoring
# RISK_HIGH_THRESHOLD or more, waits SECURITY_HOLD_HOURS before it is released to the platform, while
# the account's registered contacts may stop it; from SECURITY_HOLD_LONG_SCORE (or after an objection)
# it waits SECURITY_HOLD_LONG_HOURS. 0 hours: released at once. Urgent types (freezes) are never held.
SECURITY_HOLD_HOURS = env.int("SECURITY_HOLD_HOURS", default=24)
SECURITY_HOLD_LONG_HOURS = env.int("SECURITY_HOLD_LONG_HOURS", default=72)
SECURITY_HOLD_LONG_SCORE = env.int("SECURITY_HOLD_LONG_SCORE", default=85)
# Percent (0-100) of approvals drawn at random, when approved, for the supervisors' "Review sample" queue.
RISK_REVIEW_SAMPLE_PERCENT = env.float("RISK_REVIEW_SAMPLE_PERCENT", default=2.0)
# Shown on the appellant's status page once the promised time has passed (SPEC §5).
SLA_COMPLAINT_TEXT = {
    "zh-hans": env(
        "SLA_COMPLAINT_TEXT_ZH_HANS",
        default="我们未能在承诺时限内答复您的申诉，对此深表歉意。您有权向金融消费权益保护部门（12363）"
        "或当地消费者协会（12315）投诉。",
    ),
    "en": env(
        "SLA_COMPLAINT_TEXT_EN",
        default="We did not answer within the promised time, and we apologise. You have the right to complain "
        "to the financial consumer protection authority (tel. 12363) or to your local consumer association (tel. 12315).",
    ),
}

# --- E-mail ---------------------------------------------------------------------------------------
# EMAIL_URL sets EMAIL_BACKEND, EMAIL_HOST, EMAIL_PORT, EMAIL_HOST_USER, EMAIL_HOST_PASSWORD, EMAIL_USE_TLS.
_email = env.email("EMAIL_URL", default="consolemail://")
# Development (`make run` without a real EMAIL_URL): one readable line per e-mail on the terminal and
# the whole message as an .eml file in DEV_MAIL_DIR (supportdesk/mail.py), not the console's flood.
DEV_MAIL_DIR = Path(env("DEV_MAIL_DIR", default=str(BASE_DIR / "var" / "mail")))
if DEBUG and _email["EMAIL_BACKEND"] == "django.core.mail.backends.console.EmailBackend":
    _email["EMAIL_BACKEND"] = "supportdesk.mail.DevelopmentEmailBackend"
globals().update(_email)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="SupportDesk <support@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Auth -----------------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/desk/"
LOGOUT_REDIRECT_URL = "/accounts/login/"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # staff login throttling: first, so it can refuse early
    "django.contrib.auth.backends.ModelBackend",
]
# Staff sessions (supportdesk.middleware.StaffSessionMiddleware): signed out after this many minutes
# without a request, and this many hours after signing in, whatever they do.
STAFF_SESSION_IDLE_MINUTES = env.int("STAFF_SESSION_IDLE_MINUTES", default=30)
STAFF_SESSION_MAX_HOURS = env.int("STAFF_SESSION_MAX_HOURS", default=12)
# Staff two-factor (supportdesk/two_factor/): required for everyone who may use the console, the admin
# or evidence. Wrong codes: at most this many per user in a window, then the second step waits.
TWO_FACTOR_FAILURES_PER_USER = env("TWO_FACTOR_FAILURES_PER_USER", default="5/15m")
TWO_FACTOR_ISSUER = env("TWO_FACTOR_ISSUER", default="SupportDesk")  # the name authenticator apps show
OTP_TOTP_ISSUER = TWO_FACTOR_ISSUER
OTP_WEBAUTHN_RP_NAME = TWO_FACTOR_ISSUER
# Passkeys are bound to a domain (the relying party ID: the site's host name, never an IP address) and
# accepted from secure origins only (https, or http://localhost): by default the host the page was
# requested on, and SITE_URL's origin (or http://localhost:8000 for a first `make run`).
WEBAUTHN_RP_ID = env("WEBAUTHN_RP_ID", default="")
WEBAUTHN_ALLOWED_ORIGINS = env.list("WEBAUTHN_ALLOWED_ORIGINS", default=[])
OTP_WEBAUTHN_RP_ID_CALLABLE = "supportdesk.two_factor.passkeys.relying_party_id"
OTP_WEBAUTHN_HELPER_CLASS = "supportdesk.two_factor.passkeys.PasskeyHelper"
OTP_WEBAUTHN_ALLOWED_ORIGINS = WEBAUTHN_ALLOWED_ORIGINS or (
    [SITE_URL] if SITE_URL.startswith(("https://", "http://localhost")) else ["http://localhost:8000"]
)
# A passkey is a second factor here, after the password: never a sign-in on its own.
OTP_WEBAUTHN_ALLOW_PASSWORDLESS_LOGIN = False
# The audit export (/desk/audit/): at most this many days in one file.
AUDIT_EXPORT_MAX_DAYS = env.int("AUDIT_EXPORT_MAX_DAYS", default=366)
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=1.0)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_CLIENT_IP_CALLABLE = "supportdesk.client.axes_client_ip"
# Guessing across many user names from one address, or one user name from many addresses, is slowed
# too: failed sign-ins counted per address and per user name in fixed windows (django-ratelimit). They
# only delay; the window ends by itself, so nobody can lock a staff member out for good.
LOGIN_FAILURES_PER_IP = env("LOGIN_FAILURES_PER_IP", default="20/h")
LOGIN_FAILURES_PER_USERNAME = env("LOGIN_FAILURES_PER_USERNAME", default="10/15m")
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"

# Single sign-on for staff (OpenID Connect, optional; supportdesk/sso.py, docs/deployment.md "Single
# sign-on"). Off: the pages and /accounts/oidc/ (404) behave as without it. On: the provider's endpoints
# come from OIDC_ISSUER's discovery document on first use, unless set one by one (OIDC_OP_*_ENDPOINT);
# provider groups are mapped to ours (OIDC_GROUP_MAP) at every sign-in.
OIDC_ENABLED = env.bool("OIDC_ENABLED", default=False)
OIDC_PROVIDER_NAME = env("OIDC_PROVIDER_NAME", default="")  # the button's label; empty: "single sign-on"
OIDC_RP_CLIENT_ID = env("OIDC_RP_CLIENT_ID", default="")
OIDC_RP_CLIENT_SECRET = env("OIDC_RP_CLIENT_SECRET", default="")
OIDC_ISSUER = env("OIDC_ISSUER", default="").rstrip("/")
OIDC_OP_AUTHORIZATION_ENDPOINT = env("OIDC_OP_AUTHORIZATION_ENDPOINT", default="")
OIDC_OP_TOKEN_ENDPOINT = env("OIDC_OP_TOKEN_ENDPOINT", default="")
OIDC_OP_USER_ENDPOINT = env("OIDC_OP_USER_ENDPOINT", default="")
OIDC_OP_JWKS_ENDPOINT = env("OIDC_OP_JWKS_ENDPOINT", default="")
OIDC_RP_SIGN_ALGO = env("OIDC_RP_SIGN_ALGO", default="RS256")
OIDC_RP_SCOPES = env("OIDC_RP_SCOPES", default="openid email profile")
OIDC_USE_PKCE = env.bool("OIDC_USE_PKCE", default=True)
OIDC_TIMEOUT = env.int("OIDC_TIMEOUT_SECONDS", default=10)
OIDC_GROUPS_CLAIM = env("OIDC_GROUPS_CLAIM", default="groups")
OIDC_GROUP_MAP = env.dict("OIDC_GROUP_MAP", default={})  # provider group -> "agents" or "supervisors"
OIDC_STAFF_LOCAL_PASSWORDS = env.bool("OIDC_STAFF_LOCAL_PASSWORDS", default=True)
OIDC_BREAK_GLASS_USERS = env.list("OIDC_BREAK_GLASS_USERS", default=[])
# mozilla-django-oidc's views, ours in its place: they 404 while OIDC_ENABLED is off.
OIDC_AUTHENTICATE_CLASS = "supportdesk.sso.StaffOIDCAuthenticationRequestView"
OIDC_CALLBACK_CLASS = "supportdesk.sso.StaffOIDCCallbackView"
if OIDC_ENABLED:
    if not (OIDC_RP_CLIENT_ID and OIDC_RP_CLIENT_SECRET):
        raise ImproperlyConfigured("OIDC_ENABLED needs OIDC_RP_CLIENT_ID and OIDC_RP_CLIENT_SECRET.")
    if not OIDC_ISSUER and not all(
        (OIDC_OP_AUTHORIZATION_ENDPOINT, OIDC_OP_TOKEN_ENDPOINT, OIDC_OP_USER_ENDPOINT, OIDC_OP_JWKS_ENDPOINT)
    ):
        raise ImproperlyConfigured("OIDC_ENABLED needs OIDC_ISSUER, or all four OIDC_OP_*_ENDPOINT settings.")
    if not OIDC_GROUP_MAP:
        raise ImproperlyConfigured("OIDC_ENABLED needs OIDC_GROUP_MAP (provider group=agents or supervisors).")
    if set(OIDC_GROUP_MAP.values()) - {"agents", "supervisors"}:
        raise ImproperlyConfigured("OIDC_GROUP_MAP may map provider groups to agents or supervisors only.")
    AUTHENTICATION_BACKENDS.append("supportdesk.sso.StaffOIDCBackend")

# --- Internationalisation -------------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("简体中文")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True
# The product's name as people read it, one per language: header, page titles, consent, e-mails.
SITE_NAME_ZH_HANS = env("SITE_NAME_ZH_HANS", default="申诉服务台")
SITE_NAME_EN = env("SITE_NAME_EN", default="SupportDesk")

# --- Static files (Bootstrap comes from the npm registry at install time, see package.json) -------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("vendor/bootstrap", BASE_DIR / "node_modules" / "bootstrap" / "dist"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": env(
            "DJANGO_STATICFILES_STORAGE",
            default="django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage",
        )
    },
}
# Nothing is served from MEDIA: evidence lives in EVIDENCE_ROOT and is streamed by a checked view.
MEDIA_URL = "/media/"
MEDIA_ROOT = BASE_DIR / "var" / "media"

# --- Evidence (private storage; never under a public URL) -----------------------------------------
EVIDENCE_ROOT = Path(env("EVIDENCE_ROOT", default=str(BASE_DIR / "var" / "evidence")))
EVIDENCE_RETENTION_DAYS = env.int("EVIDENCE_RETENTION_DAYS", default=180)
# Behind nginx, let it send the file: the view checks access, then answers with this internal prefix
# (an `internal;` location aliased to EVIDENCE_ROOT). Empty: Django streams the file itself.
EVIDENCE_X_ACCEL_REDIRECT_PREFIX = env("EVIDENCE_X_ACCEL_REDIRECT_PREFIX", default="")
# Need-to-know (evidence/access.py): a staff member who states a reason to see an appeal's files may
# see them for this many minutes.
EVIDENCE_REASON_GRANT_MINUTES = env.int("EVIDENCE_REASON_GRANT_MINUTES", default=60)
# Perceptual-hash distance (bits of 64) under which two photos count as the same photo.
EVIDENCE_SAME_PHOTO_DISTANCE = env.int("EVIDENCE_SAME_PHOTO_DISTANCE", default=6)
EVIDENCE_MAX_IMAGE_BYTES = 10 * 1024 * 1024
EVIDENCE_MAX_PDF_BYTES = 10 * 1024 * 1024
EVIDENCE_MAX_CSV_BYTES = 2 * 1024 * 1024
EVIDENCE_MAX_PIXELS = 40_000_000
# PDFs are rendered page by page to images (the only form in which they are served): bound the work.
EVIDENCE_MAX_PDF_PAGES = env.int("EVIDENCE_MAX_PDF_PAGES", default=20)
EVIDENCE_PDF_PAGE_MAX_SIDE = env.int("EVIDENCE_PDF_PAGE_MAX_SIDE", default=2000)  # pixels
# A progressive JPEG is decoded once per scan: phone photos have about 10; a thousand stalls a worker.
EVIDENCE_MAX_JPEG_SCANS = env.int("EVIDENCE_MAX_JPEG_SCANS", default=50)
EVIDENCE_MAX_FILES = 20
EVIDENCE_MAX_TOTAL_BYTES = 50 * 1024 * 1024
# /healthz: below this much free space under EVIDENCE_ROOT, evidence storage counts as failing (503).
EVIDENCE_MIN_FREE_BYTES = env.int("EVIDENCE_MIN_FREE_MB", default=500) * 1024 * 1024

# Each file is hashed as it streams in (evidence/uploads.py); a file larger than this goes on in a
# temporary file, not memory (per file, within a per-request budget). The request body itself must
# also be capped by the web server in front (see docs/deployment.md).
FILE_UPLOAD_HANDLERS = ["evidence.uploads.HashingUploadHandler"]
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# 200 record rows of each kind on the page (6 inputs a row) and the appeal's own fields.
DATA_UPLOAD_MAX_NUMBER_FIELDS = 3000
DATA_UPLOAD_MAX_NUMBER_FILES = EVIDENCE_MAX_FILES + 2
# Request bodies: anything larger is refused with 413 before it is read (supportdesk/middleware.py),
# whatever the proxy in front does. The evidence total plus one file more (so that a little over the
# total still gets the form's own message), the form's fields and multipart framing: 66 MB.
REQUEST_BODY_MAX_BYTES = env.int(
    "REQUEST_BODY_MAX_BYTES",
    default=EVIDENCE_MAX_TOTAL_BYTES + EVIDENCE_MAX_IMAGE_BYTES + DATA_UPLOAD_MAX_MEMORY_SIZE + 1024 * 1024,
)

# --- Appeals --------------------------------------------------------------------------------------
TRACKING_LINK_MAX_AGE_DAYS = env.int("TRACKING_LINK_MAX_AGE_DAYS", default=30)
# Days after a rejection during which the appellant may reopen the appeal with new evidence.
REOPEN_WINDOW_DAYS = env.int("REOPEN_WINDOW_DAYS", default=7)
# Days the rating link in a decision e-mail works (tickets/services/satisfaction.py); used once.
SATISFACTION_LINK_MAX_AGE_DAYS = env.int("SATISFACTION_LINK_MAX_AGE_DAYS", default=30)
RATELIMIT_TRACK_PER_IP = env("RATELIMIT_TRACK_PER_IP", default="10/h")
RATELIMIT_TRACK_PER_REFERENCE = env("RATELIMIT_TRACK_PER_REFERENCE", default="5/h")
RATELIMIT_SUBMIT_PER_IP = env("RATELIMIT_SUBMIT_PER_IP", default="10/h")
RATELIMIT_VIEW = "tickets.portal.views.rate_limited"
# Off only for load tests from one address (bench/); always on in production.
RATELIMIT_ENABLE = env.bool("RATELIMIT_ENABLE", default=True)
# Behind a reverse proxy, the client address is in a header the proxy sets (e.g. HTTP_X_REAL_IP).
RATELIMIT_IP_META_KEY = env("RATELIMIT_IP_META_KEY", default=None)
# Everything that needs the client address (rate limits, storage, access logs, django-axes, fraud
# signals) asks supportdesk.client.client_ip, which reads this header.

# Bounds on what an appellant sends: records of each kind per appeal (rows typed on the page and CSV
# rows together; also the page's row limit), and the console's page of records. Like the evidence
# limits above, these are settings of the code, not of a deployment.
APPEAL_MAX_RECORD_ROWS = 200
APPEAL_RECORDS_PAGE_SIZE = 50
# How long the fresh-photo code shown with an appeal form stays valid (tickets/fresh_photo.py): long
# enough to fill the form, print nothing and take the photo; a leaked old photo shows an old code.
FRESH_PHOTO_CODE_MAX_AGE = env.int("FRESH_PHOTO_CODE_MAX_AGE", default=24 * 3600)

# --- The platform API (/api/v1/, tickets/api/) ------------------------------------------------------
# API keys only (no session, no basic auth: a staff member's cookie authorises nothing), a scope per
# endpoint, a rate limit per key (the key's own `rate_limit`, counted in the cache), one error shape.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["tickets.api.authentication.ApiKeyAuthentication"],
    # Closed by default: an API key leaves the user anonymous, so a view must name its scope (HasScope).
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_THROTTLE_CLASSES": ["tickets.api.throttling.ApiKeyRateThrottle"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "tickets.api.errors.api_exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "SupportDesk API",
    "DESCRIPTION": "Platforms file appeals, read their status and poll their events. See docs/integration.md.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI from our own static files (drf-spectacular-sidecar), never a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Forms ----------------------------------------------------------------------------------------
CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# --- Security -------------------------------------------------------------------------------------
# Content-Security-Policy (django-csp): our own files only, no inline script or style anywhere.
# The Django admin gets the same policy except style-src, which also allows inline styles: its
# templates and widgets carry style attributes (supportdesk.middleware.ContentSecurityPolicyMiddleware).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        # blob: the appeal form previews the photos chosen, before anything is sent.
        "img-src": [SELF, "data:", "blob:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [SELF],
        "object-src": [NONE],
    },
}
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
if not DEBUG:
    SESSION_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=True)
    CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

# Every handler carries the redacting filter: no tracking link's token reaches a log (supportdesk/logging.py).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact_capabilities": {"()": "supportdesk.logging.RedactCapabilities"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact_capabilities"]},
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # Replace Django's default handlers (console in debug, mail_admins), which carry no filter:
        # its records reach the root handler above.
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        "django.server": {"handlers": [], "level": "INFO", "propagate": True},
    },
}
