// Staff console: the check-in card (CPF, new patient's registration, the ticket it queues).
// console.js starts it with the console's helpers; the card is there only for staff who check in.
// A global of its own: window.clinico (common.js) is frozen.
"use strict";

window.clinicoConsoleCheckIn = function ({ config, errorText, refreshQueue }) {
  const { $, fmt, esc, api, clearFieldErrors } = window.clinico;
  const T = config.strings;

  // The API's field errors by field, a registration field named as the form names it.
  function fieldErrors(result) {
    const byField = {};
    const errors = (result.data && result.data.errors) || [];
    for (const error of errors) {
      const field = (error.attr || "").replace(/^patient\./, "");
      if (field) (byField[field] = byField[field] || []).push(error.detail);
    }
    return byField;
  }

  const form = $("checkin-form");
  const cpfInput = $("cpf");
  const registration = $("registration");
  const result = $("checkin-result");
  let pollTimer = null;

  const formatCpf = window.clinico.cpfFormat;

  function cpfDigits() {
    return cpfInput.value.replace(/\D/g, "");
  }

  function showFieldError(field, messages) {
    const box = $(field + "-error");
    const input = form.querySelector(`[name="${field}"]`);
    if (!box) return false;
    box.textContent = messages.join(" ");
    box.hidden = false;
    if (input) input.setAttribute("aria-invalid", "true");
    return true;
  }

  function showResult(html, kind) {
    result.innerHTML = html;
    result.className = "checkin-result checkin-" + kind;
    result.hidden = false;
  }

  function resetCheckIn({ keepResult } = {}) {
    form.reset();
    clearFieldErrors(form);
    registration.hidden = true;
    if (!keepResult) result.hidden = true;
    cpfInput.focus();
  }

  // ---- the patient's booking today, shown beside the check-in --------------------------------
  let bookedToday = "";

  async function bookedTodayOf(patientId) {
    const answer = await api("GET", "/api/v1/appointments/?status=expected");
    if (!answer.ok || !Array.isArray(answer.data)) return "";
    const A = T.appointments || {};
    return answer.data
      .filter((a) => a.patient && a.patient.id === patientId)
      .map((a) => fmt(A.bookedToday, {
        time: new Date(a.scheduled_at).toLocaleTimeString(config.language, {
          hour: "2-digit", minute: "2-digit", timeZone: config.timezone,
        }),
        service: a.service.name,
      }))
      .join(" · ");
  }

  function bookedTodayHtml() {
    return bookedToday
      ? `<p class="booked-today" data-testid="booked-today">${esc(bookedToday)}</p>` : "";
  }

  function ticketHtml(ticket) {
    const wait = ticket.estimated_wait_minutes == null
      ? T.noEstimate : fmt(T.minutes, { n: ticket.estimated_wait_minutes });
    return `
      <p class="result-label">${esc(T.queued)}</p>
      <p class="ticket-code" data-testid="issued-code">${esc(ticket.display_code)}</p>${bookedTodayHtml()}
      <dl class="ticket-facts">
        <div><dt>${esc(T.service)}</dt><dd>${esc(ticket.service.name)}</dd></div>
        <div><dt>${esc(T.position)}</dt><dd>${esc(ticket.position ?? "–")}</dd></div>
        <div><dt>${esc(T.estimatedWait)}</dt><dd>${esc(wait)}</dd></div>
      </dl>`;
  }

  function pollCheckIn(statusUrl, startedAt) {
    clearTimeout(pollTimer);
    pollTimer = setTimeout(async () => {
      const answer = await api("GET", statusUrl);
      const elapsed = Date.now() - startedAt;
      if (!answer.ok) {
        showResult(`<p>${esc(errorText(answer))}</p>`, "error");
        return;
      }
      const checkin = answer.data;
      if (checkin.status === "queued" && checkin.ticket) {
        showResult(ticketHtml(checkin.ticket), "queued");
        refreshQueue();
        return;
      }
      if (checkin.status === "failed") {
        showResult(`<p>${esc(fmt(T.failed, { reason: checkin.failure_reason }))}</p>`, "error");
        return;
      }
      if (elapsed > 15000) {
        showResult(`<p class="spinner">${esc(T.pending)}</p><p>${esc(T.stillPending)}</p>`, "pending");
      }
      if (elapsed < 180000) pollCheckIn(statusUrl, startedAt);
    }, Date.now() - startedAt > 15000 ? 3000 : 600);
  }

  async function submitCheckIn(withRegistration) {
    const body = { cpf: cpfDigits() };
    const service = $("checkin-service").value;
    if (service) body.service = Number(service);
    const reason = $("priority-reason").value;
    if (reason) body.priority_reason = reason;
    if (withRegistration) {
      const patient = {};
      for (const name of ["full_name", "social_name", "birth_date", "phone", "email"]) {
        const value = form.elements[name].value.trim();
        if (value) patient[name] = value;
      }
      body.patient = patient;
    }
    const answer = await api("POST", "/api/v1/check-ins/", body);
    if (!answer.ok) {
      const byField = fieldErrors(answer);
      let shown = false;
      for (const [field, messages] of Object.entries(byField)) {
        shown = showFieldError(field, messages) || shown;
      }
      if (byField.full_name || byField.birth_date) registration.hidden = false;
      if (!shown) showResult(`<p>${esc(errorText(answer))}</p>`, "error");
      else result.hidden = true;
      const firstInvalid = form.querySelector("[aria-invalid]");
      if (firstInvalid) firstInvalid.focus();
      return;
    }
    showResult(`<p class="spinner">${esc(T.pending)}</p>`, "pending");
    resetCheckIn({ keepResult: true });
    pollCheckIn(answer.data.status_url, Date.now());
  }

  async function onCheckIn(event) {
    event.preventDefault();
    clearFieldErrors(form);
    clearTimeout(pollTimer);
    const digits = cpfDigits();
    if (digits.length !== 11) {
      showFieldError("cpf", [T.cpfLength || "CPF: 11 digits."]);
      cpfInput.focus();
      return;
    }
    if (!registration.hidden) {
      await submitCheckIn(true);
      return;
    }
    bookedToday = "";
    showResult(`<p class="spinner">${esc(T.checkingCpf)}</p>`, "pending");
    // The CPF goes in the body: URLs end up in access logs.
    const answer = await api("POST", "/api/v1/patients/search/", { cpf: digits });
    if (!answer.ok) {
      const byField = fieldErrors(answer);
      if (byField.cpf) {
        showFieldError("cpf", byField.cpf);
        result.hidden = true;
      } else {
        showResult(`<p>${esc(errorText(answer))}</p>`, "error");
      }
      cpfInput.focus();
      return;
    }
    if (answer.data.length === 0) {
      registration.hidden = false;
      showResult(`<p>${esc(T.newPatient)}</p>`, "info");
      $("full-name").focus();
      return;
    }
    const patient = answer.data[0];
    bookedToday = await bookedTodayOf(patient.id);
    showResult(`<p>${esc(fmt(T.knownPatient, { name: patient.display_name }))}</p>${bookedTodayHtml()}`, "pending");
    await submitCheckIn(false);
  }

  if (form) {
    cpfInput.addEventListener("input", () => {
      const formatted = formatCpf(cpfDigits());
      if (formatted !== cpfInput.value) cpfInput.value = formatted;
      if (!registration.hidden) {
        registration.hidden = true;
        result.hidden = true;
      }
    });
    // Digits typed before this script ran are formatted too.
    cpfInput.value = formatCpf(cpfDigits());
    form.addEventListener("submit", onCheckIn);
    $("checkin-clear").addEventListener("click", () => resetCheckIn());
    const serviceSelect = $("checkin-service");
    for (const service of config.services) {
      serviceSelect.add(new Option(`${service.name} (${service.prefix})`, service.id));
    }
  }
};
