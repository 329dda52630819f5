"""Every word a person reads is in Portuguese: the .po is complete, API errors follow the
request's language (pt-BR by default), and no English text of the .po reaches a pt-BR page."""

import re
import subprocess
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import ChainMembership, User
from queueing.services.setup import DEFAULT_SERVICE_PREFIX
from tenants.selectors import clinic_hostname
from tests.queueing import factories

PO = Path(settings.BASE_DIR) / "locale" / "pt_BR" / "LC_MESSAGES" / "django.po"


def test_the_portuguese_catalogue_has_no_fuzzy_or_untranslated_entry():
    answer = subprocess.run(
        ["msgfmt", "--check", "--statistics", "-o", "/dev/null", str(PO)],
        capture_output=True,
        text=True,
        check=True,
    )
    stats = answer.stderr.strip()
    assert "fuzzy" not in stats and "untranslated" not in stats, stats
    assert re.fullmatch(r"\d+ translated messages\.", stats), stats


def _errors(response) -> dict[str, str]:
    assert response.status_code == 400, response.content
    return {e["attr"]: e["detail"] for e in response.json()["errors"]}


def _requests(clinic, language: str | None) -> dict[str, str]:
    """Four typical mistakes sent to the API, the error the API answers for each."""
    headers = {"HTTP_ACCEPT_LANGUAGE": language} if language else {}
    staff = APIClient(HTTP_HOST=clinic_hostname(clinic=clinic), **headers)
    staff.force_authenticate(user=factories.staff(clinic, "clinic_admin"))
    manager = User.objects.create_user(f"gestor-{language}@sol.test", "s3nha-forte-123")
    ChainMembership.objects.create(user=manager, chain=clinic.chain)
    public = APIClient(HTTP_HOST=settings.BASE_DOMAIN, **headers)
    public.force_authenticate(user=manager)
    bad_cpf = staff.post("/api/v1/check-ins/", {"cpf": "529.982.247-24"}, format="json")
    future = staff.post(
        "/api/v1/check-ins/",
        {"cpf": "52998224725", "patient": {"full_name": "Ana", "birth_date": "2999-01-01"}},
        format="json",
    )
    prefix = staff.post(
        "/api/v1/services/", {"name": "Outra", "prefix": DEFAULT_SERVICE_PREFIX}, format="json"
    )
    slug = public.post(
        f"/api/v1/chains/{clinic.chain_id}/clinics/", {"slug": "9x", "name": "X"}, format="json"
    )
    return {
        "cpf": _errors(bad_cpf)["cpf"],
        "birth_date": _errors(future)["patient.birth_date"],
        "prefix": _errors(prefix)["prefix"],
        "slug": _errors(slug)["slug"],
    }


@pytest.mark.django_db
def test_api_validation_errors_are_in_portuguese_unless_english_is_asked(clinic_a):
    portuguese = _requests(clinic_a, None)
    english = _requests(clinic_a, "en")

    assert portuguese == {
        "cpf": "Os dígitos verificadores do CPF não conferem; confira o número digitado.",
        "birth_date": "A data de nascimento está no futuro.",
        "prefix": f'O prefixo "{DEFAULT_SERVICE_PREFIX}" já é usado por outro serviço.',
        "slug": "O identificador (slug) deve começar com uma letra minúscula e ter só letras "
        "minúsculas, números e sublinhados.",
    }
    assert english["cpf"] == "The CPF's check digits do not match; check the number typed."
    assert english["birth_date"] == "The birth date is in the future."
    assert (
        english["prefix"]
        == f'Prefix "{DEFAULT_SERVICE_PREFIX}" is already used by another service.'
    )
    assert english["slug"].startswith("Slug must start with a lower-case letter")


def _english_msgids() -> set[str]:
    """The .po's English texts long enough to be sentences a page could show verbatim."""
    text = PO.read_text()
    ids = set()
    for block in text.split("\n\n")[1:]:
        parts = re.findall(r'^msgid ((?:".*"\n?)+)', block, flags=re.M)
        if not parts:
            continue
        msgid = "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', parts[0]))
        msgid = msgid.replace('\\"', '"')
        if len(msgid) >= 12 and " " in msgid and "%" not in msgid and "{" not in msgid:
            ids.add(msgid.replace("'", "&#x27;").replace('"', "&quot;"))
    return ids


@pytest.mark.django_db
def test_main_pages_in_portuguese_show_no_english_text_of_the_catalogue(clinic_a):
    english = _english_msgids()
    host = clinic_hostname(clinic=clinic_a)
    admin = Client(HTTP_HOST=host)
    admin.force_login(factories.staff(clinic_a, "clinic_admin"))
    pages = {
        "/": admin,
        "/figures/": admin,
        "/privacy/access-trail/": admin,
        "/manage/services/": admin,
        "/manage/desks/": admin,
        "/manage/staff/": admin,
        "/manage/settings/": admin,
        "/login/": Client(HTTP_HOST=host),
    }
    for path, browser in pages.items():
        html = browser.get(path).content.decode()
        assert '<html lang="pt-BR"' in html, path
        leaked = sorted(phrase for phrase in english if phrase in html)
        assert not leaked, (path, leaked)
