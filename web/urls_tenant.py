"""Web pages of a clinic host: sign-in, the staff console, the waiting-room panel, the trail."""

from django.urls import include, path

from web import console, figures, panel, privacy, status, streams, tickets, totem

urlpatterns = [
    path("", console.console, name="console"),
    path("panel/", panel.panel, name="panel"),
    path("totem/", totem.totem, name="totem"),
    path("totem/check-ins/", totem.TotemCheckInApi.as_view(), name="totem-checkin"),
    path(
        "totem/check-ins/<uuid:checkin_id>/",
        totem.TotemCheckInStatusApi.as_view(),
        name="totem-checkin-status",
    ),
    path("totem/tickets/<uuid:checkin_id>/", totem.totem_ticket, name="totem-ticket"),
    path("tickets/<int:ticket_id>/print/", tickets.ticket_reprint, name="ticket-print"),
    path("s/", status.status_page, name="ticket-status-page"),
    path("s/state/", status.TicketStateApi.as_view(), name="ticket-status-state"),
    path("privacy/access-trail/", privacy.access_trail, name="access-trail-page"),
    path("privacy/access-trail/csv/", privacy.access_trail_csv, name="access-trail-page-csv"),
    path("figures/", figures.clinic_figures, name="figures-page"),
    path("figures/csv/", figures.clinic_figures_csv, name="figures-page-csv"),
    path("events/panel/", streams.panel_stream, name="panel-stream"),
    path("events/console/", streams.console_stream, name="console-stream"),
    path("events/status/<int:ticket_id>/", status.status_stream, name="ticket-status-stream"),
    path("", include("web.urls_auth")),
]
