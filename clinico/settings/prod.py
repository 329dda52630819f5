"""Production: every secret and host comes from the environment, with no default."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import BASE_DIR, DEV_SECRET_KEY, database_pooling_settings, env

_REQUIRED = [
    "DJANGO_SECRET_KEY",
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "CLINICO_BASE_DOMAIN",
    "DJANGO_ALLOWED_HOSTS",
    "CLINICO_ARCHIVE_SIGNING_KEY",
]
_missing = [name for name in _REQUIRED if not env.str(name, default="")]
if _missing:
    raise ImproperlyConfigured(
        "Clinico cannot start in production without these environment variables: "
        + ", ".join(_missing)
    )
if env("DJANGO_SECRET_KEY") == DEV_SECRET_KEY:
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY is the development key published with the code (it signs sessions "
        "and JWTs): set a secret of your own."
    )

DEBUG = False
SECRET_KEY = env("DJANGO_SECRET_KEY")
BASE_DOMAIN = env("CLINICO_BASE_DOMAIN")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS")
DATABASES = {"default": env.db("DATABASE_URL")}
DATABASES["default"]["ENGINE"] = "clinico.postgresql"  # django-tenants backend, see there
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"].update(database_pooling_settings(env))
CELERY_BROKER_URL = env("CELERY_BROKER_URL")
# Webhooks go to public HTTPS hosts only (integrations/egress.py); never to http://127.0.0.1.
CLINICO_WEBHOOK_ALLOW_LOOPBACK_HTTP = False
CLINICO_ARCHIVE_SIGNING_KEY = env("CLINICO_ARCHIVE_SIGNING_KEY")
# SMTP, e.g. CLINICO_EMAIL_URL=smtp+tls://user:password@smtp.example.com:587 (django-environ).
_email = env.email_url("CLINICO_EMAIL_URL", default="smtp://localhost:25")
EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = _email["EMAIL_HOST"]
EMAIL_PORT = _email["EMAIL_PORT"]
EMAIL_HOST_USER = _email["EMAIL_HOST_USER"]
EMAIL_HOST_PASSWORD = _email["EMAIL_HOST_PASSWORD"]
EMAIL_USE_TLS = _email.get("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = _email.get("EMAIL_USE_SSL", False)
STATIC_ROOT = BASE_DIR / "staticfiles"
WHITENOISE_USE_FINDERS = False

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
CSRF_TRUSTED_ORIGINS = [f"https://{BASE_DOMAIN}", f"https://*.{BASE_DOMAIN}"]
