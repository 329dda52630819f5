"""The daily reset marks the day's missing bookings as no-shows and counts them in the summary."""

import datetime

import pytest
import time_machine

from appointments.models import Appointment, AppointmentStatus
from tenants.models import ClinicDaySummary
from tenants.services import clinic_days_close
from tests.appointments.factories import DAY, arrive, book, local, new_cpf
from tests.queueing import factories as f

pytestmark = pytest.mark.django_db

NEXT_DAY = DAY + datetime.timedelta(days=1)


def test_the_reset_marks_missing_bookings_no_show_and_the_summary_counts_them(clinic_a):
    with clinic_a:
        svc = f.reception()
        came_cpf = new_cpf()
        came = book(svc, local(9), cpf=came_cpf)
        missed = book(svc, local(10))
        also_missed = book(svc, local(15, 30))
        cancelled = book(svc, local(11))
        Appointment.objects.filter(pk=cancelled.pk).update(status=AppointmentStatus.CANCELLED)
        tomorrow = book(svc, local(9, day=NEXT_DAY))
        arrive(svc, local(8, 50), cpf=came_cpf)

    with time_machine.travel(local(0, 5, day=NEXT_DAY), tick=False):
        clinic_days_close(clinic=clinic_a)
        clinic_days_close(clinic=clinic_a)  # a second run changes nothing

    with clinic_a:
        statuses = dict(Appointment.objects.values_list("id", "status"))
    summary = ClinicDaySummary.objects.get(clinic=clinic_a, service_day=DAY)
    assert statuses == {
        came.pk: "arrived",
        missed.pk: "no_show",
        also_missed.pk: "no_show",
        cancelled.pk: "cancelled",
        tomorrow.pk: "expected",  # not its day yet
    }
    assert (summary.tickets, summary.appointment_no_shows) == (1, 2)


def test_a_day_of_bookings_and_no_ticket_still_gets_its_summary(clinic_a):
    with clinic_a:
        book(f.reception(), local(9))

    with time_machine.travel(local(0, 5, day=NEXT_DAY), tick=False):
        clinic_days_close(clinic=clinic_a)

    summary = ClinicDaySummary.objects.get(clinic=clinic_a, service_day=DAY)
    assert (summary.tickets, summary.appointment_no_shows) == (0, 1)


def test_the_chain_dashboard_shows_a_closed_day_s_booked_no_shows(clinic_a, settings):
    from django.test import Client

    from tests.accounts.conftest import manager

    with clinic_a:
        svc = f.reception()
        book(svc, local(9))
        book(svc, local(10))
    with time_machine.travel(local(0, 5, day=NEXT_DAY), tick=False):
        clinic_days_close(clinic=clinic_a)
        browser = Client(HTTP_HOST=settings.BASE_DOMAIN)
        browser.force_login(manager(clinic_a.chain))
        page = browser.get("/dashboard/")

    assert page.status_code == 200
    assert "faltas de agendados: 2" in page.content.decode()
