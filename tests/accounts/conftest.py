"""Accounts test helpers: people with roles, signing in through the real token endpoints."""

import itertools

from django.conf import settings
from rest_framework.test import APIClient

from accounts.models import ChainMembership, ClinicMembership, User
from accounts.services import partner_client_create
from tenants.selectors import clinic_hostname

PASSWORD = "s3nha-Forte-2026"
_numbers = itertools.count(1)


def host_client(clinic=None, **extra) -> APIClient:
    """An API client on `clinic`'s host, or on the public host when `clinic` is None."""
    host = clinic_hostname(clinic=clinic) if clinic is not None else settings.BASE_DOMAIN
    return APIClient(HTTP_HOST=host, **extra)


def person(label: str = "user", **extra) -> User:
    return User.objects.create_user(f"{label}{next(_numbers)}@accounts.test", PASSWORD, **extra)


def staff(clinic, role: str = "receptionist") -> User:
    user = person(role)
    ClinicMembership.objects.create(user=user, clinic=clinic, role=role)
    return user


def manager(chain) -> User:
    user = person("manager")
    ChainMembership.objects.create(user=user, chain=chain)
    return user


def sign_in(user: User, clinic=None, **extra) -> dict:
    """The token pair `user` gets by signing in on `clinic`'s host (public host if None)."""
    response = host_client(clinic, **extra).post(
        "/api/v1/auth/token/", {"email": user.email, "password": PASSWORD}, format="json"
    )
    assert response.status_code == 200, response.content
    return response.json()


def bearer(client: APIClient, access: str) -> APIClient:
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


def partner(clinics, scope: str = "read", requests_per_minute: int = 600):
    """A partner client of `clinics` and its access token from the public host."""
    client, secret = partner_client_create(
        name=f"Partner {next(_numbers)}",
        clinics=clinics,
        scope=scope,
        requests_per_minute=requests_per_minute,
    )
    response = host_client().post(
        "/api/v1/auth/partner-token/",
        {"client_id": client.client_id, "client_secret": secret},
        format="json",
    )
    assert response.status_code == 200, response.content
    return client, response.json()["access"]


def assert_refused(response, code: str | None = None) -> None:
    """401 with the standard error body (and `code` when given)."""
    assert response.status_code == 401, (response.status_code, response.content)
    body = response.json()
    assert body["type"] == "client_error", body
    assert body["errors"][0]["detail"]
    if code is not None:
        assert body["errors"][0]["code"] == code, body
