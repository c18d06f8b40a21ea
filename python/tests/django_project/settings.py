"""A real Django project for the integration tests: auth, sessions, the siem app, its
middleware and log handler, SigmaHQ's Django rule from the corpus and the project's own rules."""

from __future__ import annotations

import sys
from pathlib import Path

import django

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # for `corpora`

from corpora import EXAMPLE_RULES, corpus  # noqa: E402

SECRET_KEY = "siem-tests-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["testserver", "localhost"]
ROOT_URLCONF = "django_project.urls"
USE_TZ = True

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "siem.django",
]

MIDDLEWARE = [
    "siem.django.SiemMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]

DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [HERE / "templates"],
        "APP_DIRS": False,
        "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
    }
]

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast tests

# Plain addresses since Django 6, (name, address) pairs before; handlers.email_alert reads both.
ADMINS = (
    ["security@example.org"]
    if django.VERSION >= (6, 0)
    else [("Security", "security@example.org")]
)
SERVER_EMAIL = "siem@example.org"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"siem": {"class": "siem.django.SiemLogHandler"}},
    "loggers": {
        "django.security": {"handlers": ["siem"], "level": "INFO"},
        "django.request": {"handlers": ["siem"], "level": "WARNING"},
        "django_project": {"handlers": ["siem"], "level": "INFO"},
    },
}

SIEM = {
    "RULES": [
        # SigmaHQ's rule for Django's security exceptions, unmodified.
        corpus("sigma") / "rules" / "application" / "django",
        # The project's own: failed-login brute force, logout, unhandled errors.
        HERE / "rules",
        # The repository's 403 burst (logsource category: webserver).
        EXAMPLE_RULES / "http_403_burst.yml",
    ],
    "ALERT_HANDLERS": ["django_project.handlers.collect"],
    "TRUSTED_PROXY_HEADER": "X-Forwarded-For",
    "TRUSTED_PROXY_COUNT": 1,
    "TICK_INTERVAL": 0.1,
}
