"""Web pages of a clinic host: sign-in, the staff console, the waiting-room panel, the trail,
and the clinic admin's pages."""

from django.urls import include, path

from web import clinic_admin, console, figures, panel, privacy, status, streams, tickets, totem

manage = [
    path("services/", clinic_admin.services, name="manage-services"),
    path("services/<int:service_id>/", clinic_admin.service_edit, name="manage-service"),
    path("desks/", clinic_admin.desks, name="manage-desks"),
    path("desks/<int:desk_id>/", clinic_admin.desk_edit, name="manage-desk"),
    path("staff/", clinic_admin.staff, name="manage-staff"),
    path("staff/<int:membership_id>/role/", clinic_admin.staff_role, name="manage-staff-role"),
    path(
        "staff/<int:membership_id>/resend/", clinic_admin.staff_resend, name="manage-staff-resend"
    ),
    path(
        "staff/<int:membership_id>/deactivate/",
        clinic_admin.staff_deactivate,
        name="manage-staff-deactivate",
    ),
    path("panels/", clinic_admin.panels, name="manage-panels"),
    path("panels/<int:panel_id>/", clinic_admin.panel_edit, name="manage-panel"),
    path("panels/<int:panel_id>/key/", clinic_admin.panel_rotate, name="manage-panel-key"),
    path("panels/<int:panel_id>/delete/", clinic_admin.panel_remove, name="manage-panel-delete"),
    path("settings/", clinic_admin.settings, name="manage-settings"),
]

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
    path("manage/", include(manage)),
    path("events/status/<int:ticket_id>/", status.status_stream, name="ticket-status-stream"),
    path("", include("web.urls_auth")),
]
