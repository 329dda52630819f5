// Staff console: the day's appointments (expected, arrived, late, no-show, cancelled), booking
// and cancelling. Loaded after console.js; talks to /api/v1/appointments/ with the session.
"use strict";

(function () {
  const { $, pageConfig, fmt, esc, api, clearFieldErrors, cpfMask } = window.clinico;
  const config = pageConfig("console-config");
  const T = config.strings;
  const A = T.appointments;
  const REFRESH_MS = 30000;
  const list = $("appointments");
  if (!list) return;

  function errorText(result) {
    if (result.status === 0) return T.networkError;
    const errors = result.data && result.data.errors;
    if (errors && errors.length) return errors.map((e) => e.detail).join(" ");
    return fmt(T.genericError, { status: result.status });
  }

  // Booked times read on the clinic's clock, as they are typed in the form.
  function timeOf(iso) {
    return new Date(iso).toLocaleTimeString(config.language, {
      hour: "2-digit", minute: "2-digit", timeZone: config.timezone,
    });
  }

  function flash(message, kind) {
    const box = $("flash");
    box.textContent = message;
    box.className = "flash flash-" + (kind || "info");
    box.hidden = false;
  }

  function row(appointment) {
    const overdue = appointment.overdue;
    const state = overdue ? "overdue" : appointment.status;
    const status = overdue ? A.overdue : (A.statuses[appointment.status] || appointment.status);
    const name = appointment.patient
      ? `<span class="patient">${esc(appointment.patient.display_name)}</span>` : "";
    const ticket = appointment.ticket
      ? `<span class="hint">${esc(fmt(A.ticket, { code: appointment.ticket.display_code }))}</span>` : "";
    const extra = [appointment.service.name, appointment.professional].filter(Boolean).join(" · ");
    const cancel = config.canCancel && appointment.status === "expected"
      ? `<button type="button" class="button button-small button-quiet" data-cancel-appointment="${appointment.id}" data-time="${esc(timeOf(appointment.scheduled_at))}">${esc(T.cancelLabel)}</button>`
      : "";
    return `<li class="appointment appointment-${esc(state)}" data-appointment="${appointment.id}">
      <span class="time">${esc(timeOf(appointment.scheduled_at))}</span>${name}
      <span class="hint">${esc(extra)}</span>
      <span class="status">${esc(status)}</span>${ticket}${cancel}</li>`;
  }

  async function refresh() {
    const result = await api("GET", "/api/v1/appointments/");
    const errorBox = $("appointments-error");
    if (!result.ok) {
      errorBox.textContent = errorText(result);
      errorBox.hidden = false;
      return;
    }
    errorBox.hidden = true;
    const appointments = result.data;
    list.innerHTML = appointments.length
      ? appointments.map(row).join("") : `<li class="hint">${esc(A.none)}</li>`;
    const count = (status) => appointments.filter((a) => a.status === status).length;
    $("appointments-counts").textContent = fmt(A.counts, {
      expected: count("expected"),
      arrived: count("arrived") + count("late"),
      no_show: count("no_show"),
    });
  }

  list.addEventListener("click", async (event) => {
    const button = event.target.closest("[data-cancel-appointment]");
    if (!button) return;
    const time = button.dataset.time;
    if (!window.confirm(fmt(A.cancelConfirm, { time }))) return;
    button.disabled = true;
    const result = await api("POST", `/api/v1/appointments/${button.dataset.cancelAppointment}/cancel/`, {});
    if (result.ok) flash(fmt(A.cancelled, { time }), "ok");
    else flash(errorText(result), "error");
    refresh();
  });

  const form = $("appointment-form");
  if (form) {
    const select = $("appointment-service");
    select.innerHTML = config.services
      .map((s) => `<option value="${s.id}">${esc(s.name)}</option>`).join("");
    cpfMask($("appointment-cpf"));
    const sameDay = $("appointment-same-day");
    // Any change to the booking asks again; "Book anyway" books this one despite the other.
    form.addEventListener("input", () => { sameDay.hidden = true; });
    $("appointment-same-day-confirm").addEventListener("click", () => book(true));

    // The patient's other booking that day, as the server names it, and the way to go on.
    function askSameDay(result) {
      const error = ((result.data && result.data.errors) || []).find((e) => e.code === "same_day_booking");
      if (!error) return false;
      $("appointment-same-day-text").textContent = error.detail;
      sameDay.hidden = false;
      $("appointment-same-day-confirm").focus();
      return true;
    }

    form.addEventListener("submit", (event) => {
      event.preventDefault();
      book(false);
    });

    async function book(confirmSameDay) {
      clearFieldErrors(form);
      sameDay.hidden = true;
      const value = (id) => $(id).value.trim();
      const body = {
        confirm_same_day: confirmSameDay,
        cpf: value("appointment-cpf"),
        service: Number(select.value),
        scheduled_at: value("appointment-time"),
        professional: value("appointment-professional"),
        note: value("appointment-note"),
      };
      if (value("appointment-full-name") || value("appointment-birth-date")) {
        body.patient = { full_name: value("appointment-full-name") };
        if (value("appointment-birth-date")) body.patient.birth_date = value("appointment-birth-date");
      }
      $("appointment-submit").disabled = true;
      const result = await api("POST", "/api/v1/appointments/", body);
      $("appointment-submit").disabled = false;
      if (result.status === 409 && askSameDay(result)) return;
      if (result.ok) {
        flash(fmt(A.booked, { time: timeOf(result.data.scheduled_at) }), "ok");
        form.reset();
        refresh();
        return;
      }
      let placed = false;
      for (const error of (result.data && result.data.errors) || []) {
        const box = error.attr && $(`appointment-${error.attr}-error`);
        if (box) {
          box.textContent = error.detail;
          box.hidden = false;
          placed = true;
        }
      }
      if (!placed) flash(errorText(result), "error");
    }
  }

  refresh();
  setInterval(refresh, REFRESH_MS);
})();
