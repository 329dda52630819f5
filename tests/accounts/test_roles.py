"""The role matrix of docs/roles.md, endpoint by endpoint, with real tokens.

Allowed means the call does its job for that caller: the answer and its body that
tests/accounts/answers.py expects (the right ticket, the right list, the CPF masked or not);
refused means 403 with the standard error body.
"""

import pytest

from tests.accounts.answers import Caller, call_for
from tests.accounts.conftest import bearer, host_client, manager, partner, sign_in, staff

pytestmark = pytest.mark.django_db

R, C, A = "receptionist", "clinician", "clinic_admin"
M, PR, PW = "chain_manager", "partner_read", "partner_read_write"
EVERYONE = {R, C, A, M, PR, PW}
READERS = EVERYONE
STAFF = {R, C, A}
UUID = "00000000-0000-0000-0000-000000000001"

MATRIX = [
    # method, url, who may
    ("POST", "/api/v1/check-ins/", {R, A, PW}),
    ("GET", f"/api/v1/check-ins/{UUID}/", READERS),
    ("POST", "/api/v1/patients/search/", {R, A, PW}),
    ("GET", "/api/v1/patients/?cpf=52998224725", {R, A, PW}),  # then 400: CPFs go in bodies
    ("GET", "/api/v1/patients/1/", {R, A}),
    ("PATCH", "/api/v1/patients/1/", {R, A}),
    ("GET", "/api/v1/queue/", READERS),
    ("GET", "/api/v1/stats/today/", READERS),
    ("GET", "/api/v1/tickets/1/", READERS),
    ("GET", "/api/v1/services/", READERS),
    ("GET", "/api/v1/services/1/", READERS),
    ("GET", "/api/v1/desks/", READERS),
    ("GET", "/api/v1/desks/1/", READERS),
    ("POST", "/api/v1/services/", {A}),
    ("PATCH", "/api/v1/services/1/", {A}),
    ("POST", "/api/v1/desks/", {A}),
    ("PATCH", "/api/v1/desks/1/", {A}),
    ("POST", "/api/v1/desks/1/call-next/", STAFF),
    ("POST", "/api/v1/desks/1/call/", STAFF),
    ("POST", "/api/v1/tickets/1/no-show/undo/", STAFF),
    ("POST", "/api/v1/tickets/1/cancel/undo/", {R, A}),
    ("POST", "/api/v1/tickets/1/recall/", STAFF),
    ("POST", "/api/v1/tickets/1/start/", STAFF),
    ("POST", "/api/v1/tickets/1/finish/", STAFF),
    ("POST", "/api/v1/tickets/1/no-show/", STAFF),
    ("POST", "/api/v1/tickets/1/requeue/", STAFF),
    ("POST", "/api/v1/tickets/1/transfer/", STAFF),
    ("POST", "/api/v1/tickets/1/cancel/", {R, A}),
    ("GET", "/api/v1/panel/", {R, C, A, M}),
    ("POST", "/api/v1/panel/key/rotate/", {A}),
    ("POST", "/api/v1/totem/key/rotate/", {A}),
    ("GET", "/api/v1/totem/settings/", {A}),
    ("PATCH", "/api/v1/totem/settings/", {A}),
    ("GET", "/api/v1/staff/", {A}),
    ("POST", "/api/v1/staff/", {A}),
    ("PATCH", "/api/v1/staff/1/", {A}),
    ("POST", "/api/v1/staff/1/deactivate/", {A}),
    ("POST", "/api/v1/staff/1/invitation/", {A}),
    ("GET", "/api/v1/panels/", {A}),
    ("POST", "/api/v1/panels/", {A}),
    ("GET", "/api/v1/panels/1/", {A}),
    ("PATCH", "/api/v1/panels/1/", {A}),
    ("DELETE", "/api/v1/panels/1/", {A}),
    ("POST", "/api/v1/panels/1/key/rotate/", {A}),
    ("GET", "/api/v1/clinic/", {A}),
    ("PATCH", "/api/v1/clinic/", {A}),
    ("POST", "/api/v1/auth/password/change/", STAFF),
    ("GET", "/api/v1/me/", EVERYONE),
    ("GET", "/api/v1/patients/1/export/", {A}),
    ("POST", "/api/v1/patients/1/anonymise/", {A}),
    ("GET", "/api/v1/patients/review/", {A}),
    ("GET", "/api/v1/access-trail/", {A}),
    ("GET", "/api/v1/access-trail/csv/", {A}),
    ("POST", "/api/v1/desks/1/break/", STAFF),
    ("POST", "/api/v1/desks/1/break/end/", STAFF),
    ("GET", "/api/v1/figures/", {A, M}),
    ("GET", "/api/v1/figures/csv/", {A, M}),
    ("GET", "/api/v1/webhooks/", {A, PR, PW}),
    ("POST", "/api/v1/webhooks/", {A, PW}),
    ("GET", "/api/v1/webhooks/1/", {A, PR, PW}),
    ("PATCH", "/api/v1/webhooks/1/", {A, PW}),
    ("DELETE", "/api/v1/webhooks/1/", {A, PW}),
    ("POST", "/api/v1/webhooks/1/rotate-secret/", {A, PW}),
    ("GET", "/api/v1/webhooks/1/deliveries/", {A, PR, PW}),
    ("POST", "/api/v1/webhooks/1/deliveries/1/redeliver/", {A, PW}),
    ("GET", "/api/v1/appointments/", READERS),
    ("POST", "/api/v1/appointments/", {R, A, PW}),
    ("GET", "/api/v1/appointments/1/", READERS),
    ("POST", "/api/v1/appointments/1/cancel/", {R, A, PW}),
]


@pytest.fixture(scope="module")
def tokens(django_db_setup, django_db_blocker):
    """One caller per principal at clinic A (token and identity), made once for the module."""
    from accounts.models import ChainMembership, ClinicMembership, PartnerClient, RateCounter, User
    from tests.conftest import clinic_ensure

    with django_db_blocker.unblock():
        clinic = clinic_ensure("clinic_a")
        people = {role: staff(clinic, role) for role in (R, C, A)}
        people[M] = manager(clinic.chain)
        made = {
            role: Caller(role, sign_in(user, clinic)["access"], email=user.email)
            for role, user in people.items()
            if role != M
        }
        made[M] = Caller(M, sign_in(people[M])["access"], email=people[M].email)
        read_client, read_access = partner([clinic], scope="read")
        write_client, write_access = partner([clinic], scope="read_write")
        made[PR] = Caller(PR, read_access, client_id=read_client.client_id)
        made[PW] = Caller(PW, write_access, client_id=write_client.client_id)
    yield made
    with django_db_blocker.unblock():
        # Users stay (tenant tables may point at them) but lose every access they were given.
        ids = [user.pk for user in people.values()]
        ClinicMembership.objects.filter(user_id__in=ids).delete()
        ChainMembership.objects.filter(user_id__in=ids).delete()
        User.objects.filter(pk__in=ids).update(is_active=False)
        PartnerClient.objects.filter(pk__in=[read_client.pk, write_client.pk]).delete()
        RateCounter.objects.all().delete()


ALLOWED = [(p, m, u) for m, u, allowed in MATRIX for p in sorted(EVERYONE) if p in allowed]
REFUSED = [(p, m, u) for m, u, allowed in MATRIX for p in sorted(EVERYONE) if p not in allowed]


@pytest.mark.parametrize(
    "principal, method, url", ALLOWED, ids=[f"{p}-{m} {u}" for p, m, u in ALLOWED]
)
def test_an_allowed_principal_gets_the_answer(clinic_a, tokens, principal, method, url):
    caller = tokens[principal]
    call = call_for(method, url, clinic=clinic_a, caller=caller)
    client = bearer(host_client(clinic_a), caller.access)

    response = getattr(client, method.lower())(call.url, call.data, format="json")

    call.check(response)


@pytest.mark.parametrize(
    "principal, method, url", REFUSED, ids=[f"{p}-{m} {u}" for p, m, u in REFUSED]
)
def test_any_other_principal_is_refused(clinic_a, tokens, principal, method, url):
    client = bearer(host_client(clinic_a), tokens[principal].access)

    response = getattr(client, method.lower())(url, {}, format="json")

    assert response.status_code == 403, (response.status_code, response.content)
    assert response.json()["type"] == "client_error"


def test_the_matrix_lists_every_clinic_endpoint():
    from tests.accounts.test_isolation import ENDPOINTS

    listed = {(m, u.split("?")[0]) for m, u, _a in MATRIX}
    existing = {(m, u) for m, u, _v in ENDPOINTS}
    assert existing - listed == set(), "add these endpoints to MATRIX and docs/roles.md"
