// Staff console: the live queue and the desk's current ticket; check-in by CPF
// is console_checkin.js, loaded before this file.
// Talks to the JSON API with the session cookie and Django's CSRF header.
"use strict";

(function () {
  const { $, pageConfig, fmt, esc, api, clockTime, live } = window.clinico;
  const config = pageConfig("console-config");
  const T = config.strings;
  const QUEUE_REFRESH_MS = 3000;
  const HELD = ["called", "in_service"];

  // ---- helpers -------------------------------------------------------------------------------

  // The API's error body: {type, errors: [{code, detail, attr}]}.
  function errorText(result) {
    if (result.status === 0) return T.networkError;
    const errors = result.data && result.data.errors;
    if (result.status === 401 || (result.status === 403 && errors && errors[0] &&
        errors[0].code === "not_authenticated")) {
      return T.sessionExpired;
    }
    if (errors && errors.length) return errors.map((e) => e.detail).join(" ");
    return fmt(T.genericError, { status: result.status });
  }

  let flashTimer = null;
  function flash(message, kind) {
    const box = $("flash");
    box.textContent = message;
    box.className = "flash flash-" + (kind || "info");
    box.setAttribute("role", kind === "error" ? "alert" : "status");
    box.hidden = false;
    clearTimeout(flashTimer);
    if (kind !== "error") flashTimer = setTimeout(() => { box.hidden = true; }, 8000);
  }

  function minutesSince(iso) {
    return Math.max(0, Math.floor((Date.now() - Date.parse(iso)) / 60000));
  }

  function timeOf(iso) {
    return clockTime(new Date(iso), config.language);
  }

  function serviceName(id) {
    const service = config.services.find((s) => s.id === id);
    return service ? service.name : "";
  }

  // ---- check-in (console_checkin.js) ----------------------------------------------------------

  window.clinicoConsoleCheckIn({ config, errorText, refreshQueue });

  // ---- queue ---------------------------------------------------------------------------------

  let queueData = null;
  let lastQueueHtml = "";

  // The desk chosen on this screen may call this waiting ticket out of order ("Call this one").
  function canCallChosen(ticket) {
    const desk = selectedDesk();
    return Boolean(desk && ticket.status === "waiting" && desk.services.includes(ticket.service.id));
  }

  // One row: position and code; the name in full (ellipsised only when the row runs out of
  // room, the full name in its title); the tier, the wait and the estimate on one line; the
  // actions in one row.
  function ticketRow(ticket, service) {
    if (!ticket.service) ticket.service = service;
    const tier = String(ticket.priority_tier);
    const reason = ticket.priority_reason
      ? (T.priorityReasons[ticket.priority_reason] || ticket.priority_reason) : "";
    const badge = `<span class="tier tier-${tier}" title="${esc(reason)}">${esc(T.tiers[tier])}</span>`;
    const patientName = ticket.patient ? ticket.patient.display_name : "";
    const name = `<span class="patient" title="${esc(patientName)}">${esc(patientName)}</span>`;
    let state;
    if (ticket.status === "waiting") {
      state = `<span class="waited">${esc(fmt(T.waited, { n: minutesSince(ticket.arrived_at) }))}</span>`;
      if (ticket.estimated_wait_minutes != null) {
        state += ` · <span>${esc(T.estimatedWait)} ${esc(fmt(T.minutes, { n: ticket.estimated_wait_minutes }))}</span>`;
      }
    } else {
      state = `<span class="status status-${esc(ticket.status)}">${esc(T.statuses[ticket.status] || ticket.status)}</span>`;
      if (ticket.desk) state += ` · ${esc(ticket.desk.name)}`;
    }
    const data = `data-ticket-id="${ticket.id}" data-code="${esc(ticket.display_code)}" data-name="${esc(patientName)}"`;
    const callOne = canCallChosen(ticket)
      ? `<button type="button" class="button button-small" data-call-chosen="${ticket.id}" ${data}${deskCanCall() ? "" : " disabled"}>${esc(T.callChosen)}</button>`
      : "";
    const cancel = config.canCancel && ticket.status === "waiting"
      ? `<button type="button" class="button button-small button-quiet" data-cancel="${ticket.id}" ${data}>${esc(T.cancelLabel || "×")}</button>`
      : "";
    const reprint = `<a class="button button-small button-quiet" href="/tickets/${ticket.id}/print/" target="_blank" rel="noopener" data-reprint="${ticket.id}" title="${esc(T.reprintTitle)}">${esc(T.reprint)}</a>`;
    const position = ticket.position != null ? `<span class="position" aria-label="${esc(T.position)}">${ticket.position}º</span>` : `<span class="position"></span>`;
    return `<li class="ticket ticket-${esc(ticket.status)}" data-ticket="${ticket.id}">
        ${position}
        <span class="code">${esc(ticket.display_code)}</span>
        ${name}
        ${badge}
        <span class="ticket-state">${state}</span>
        <span class="ticket-tools">${callOne}${reprint}${cancel}</span>
      </li>`;
  }

  function renderQueue() {
    const services = queueData.services || [];
    let html = "";
    for (const queue of services) {
      html += `<section class="service-queue" aria-label="${esc(queue.service.name)}">
        <h3>${esc(queue.service.name)} <span class="count">${esc(fmt(T.waitingCount, { n: queue.waiting_count }))}</span></h3>`;
      if (queue.tickets.length === 0) {
        html += `<p class="empty">${esc(T.emptyQueue)}</p>`;
      } else {
        html += `<ol class="tickets">${queue.tickets.map((t) => ticketRow(t, queue.service)).join("")}</ol>`;
      }
      html += "</section>";
    }
    if (!services.length) html = `<p class="empty">${esc(T.emptyQueue)}</p>`;
    if (html !== lastQueueHtml) {
      // The button that had the focus keeps it across the redraw.
      const active = document.activeElement;
      let focused = null;
      if (active && active.dataset && active.closest && active.closest("#queue")) {
        for (const key of ["cancel", "callChosen", "reprint"]) {
          if (active.dataset[key]) focused = `[data-${key.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase())}="${active.dataset[key]}"]`;
        }
      }
      $("queue").innerHTML = html;
      lastQueueHtml = html;
      if (focused) {
        const again = $("queue").querySelector(focused);
        if (again) again.focus();
      }
    }
    $("queue-updated").textContent = fmt(T.updatedAt, { time: clockTime(new Date(), config.language) });
  }

  async function refreshQueue() {
    const answer = await api("GET", "/api/v1/queue/");
    const errorBox = $("queue-error");
    if (answer.ok) {
      errorBox.hidden = true;
      queueData = answer.data;
      renderQueue();
      renderDesk();
    } else {
      errorBox.textContent = errorText(answer);
      errorBox.hidden = false;
    }
  }

  // ---- undo: a no-show or a cancellation can be taken back for a few seconds -----------------

  const UNDO_MS = 8000;
  let undoTimer = null;
  let undoAction = null;

  function hideUndo() {
    clearTimeout(undoTimer);
    undoAction = null;
    $("undo-toast").hidden = true;
  }

  function offerUndo(message, action) {
    $("undo-text").textContent = message;
    undoAction = action;
    $("undo-toast").hidden = false;
    clearTimeout(undoTimer);
    undoTimer = setTimeout(hideUndo, UNDO_MS);
  }

  $("undo-button").addEventListener("click", async () => {
    const action = undoAction;
    hideUndo();
    if (!action) return;
    const answer = await api("POST", action.url);
    if (!answer.ok) flash(errorText(answer), "error");
    else flash(action.done, "success");
    await refreshQueue();
  });

  // "R003 · Maria Aparecida" in every confirmation: the right patient is the one changed.
  function who(ticket) {
    return ticket.name ? `${ticket.code} · ${ticket.name}` : ticket.code;
  }

  // ---- cancel (waiting tickets) ----------------------------------------------------------------

  const dialog = $("cancel-dialog");
  let cancelTicket = null;
  $("queue").addEventListener("click", (event) => {
    const button = event.target.closest("[data-cancel]");
    if (!button) return;
    cancelTicket = { id: button.dataset.cancel, code: button.dataset.code, name: button.dataset.name };
    $("cancel-code").textContent = cancelTicket.code;
    $("cancel-name").textContent = cancelTicket.name;
    $("cancel-reason").value = "";
    $("cancel-error").hidden = true;
    dialog.showModal();
    $("cancel-reason").focus();
  });
  $("cancel-close").addEventListener("click", () => dialog.close());
  $("cancel-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const reason = $("cancel-reason").value.trim();
    if (!reason) {
      $("cancel-error").textContent = T.cancelReason;
      $("cancel-error").hidden = false;
      $("cancel-reason").focus();
      return;
    }
    const ticket = cancelTicket;
    const answer = await api("POST", `/api/v1/tickets/${ticket.id}/cancel/`, { reason });
    if (!answer.ok) {
      $("cancel-error").textContent = errorText(answer);
      $("cancel-error").hidden = false;
      return;
    }
    dialog.close();
    offerUndo(fmt(T.cancelled, { code: who(ticket) }), {
      url: `/api/v1/tickets/${ticket.id}/cancel/undo/`,
      done: fmt(T.restored, { code: who(ticket) }),
    });
    refreshQueue();
  });

  // ---- call a chosen ticket out of order --------------------------------------------------------

  const callDialog = $("call-dialog");
  let chosenTicket = null;
  $("queue").addEventListener("click", (event) => {
    const button = event.target.closest("[data-call-chosen]");
    if (!button || button.disabled) return;
    chosenTicket = { id: Number(button.dataset.callChosen), code: button.dataset.code, name: button.dataset.name };
    $("call-who").textContent = who(chosenTicket);
    $("call-reason").value = "";
    $("call-error").hidden = true;
    callDialog.showModal();
    $("call-reason").focus();
  });
  $("call-close").addEventListener("click", () => callDialog.close());
  // The hint to say why goes away once something is typed.
  for (const [field, box] of [["call-reason", "call-error"], ["cancel-reason", "cancel-error"]]) {
    $(field).addEventListener("input", () => { if ($(field).value.trim()) $(box).hidden = true; });
  }
  $("call-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const reason = $("call-reason").value.trim();
    if (!reason) {
      $("call-error").textContent = T.callReason;
      $("call-error").hidden = false;
      $("call-reason").focus();
      return;
    }
    const ticket = chosenTicket;
    const answer = await api("POST", `/api/v1/desks/${deskId()}/call/`, { ticket: ticket.id, reason });
    if (!answer.ok) {
      $("call-error").textContent = errorText(answer);
      $("call-error").hidden = false;
      if (answer.status === 409) refreshQueue();
      return;
    }
    callDialog.close();
    const desk = selectedDesk();
    flash(fmt(T.called, { code: who(ticket), desk: desk ? desk.name : "" }), "success");
    await refreshQueue();
  });

  // ---- desk ----------------------------------------------------------------------------------

  const deskSelect = $("desk");
  const deskKey = `clinico.desk.${location.host}`;
  for (const desk of config.desks) deskSelect.add(new Option(desk.name, desk.id));
  const savedDesk = localStorage.getItem(deskKey);
  if (savedDesk && config.desks.some((d) => String(d.id) === savedDesk)) deskSelect.value = savedDesk;
  let currentTicket = null;

  function deskId() {
    return deskSelect.value ? Number(deskSelect.value) : null;
  }

  function heldTicket() {
    if (!queueData || !deskId()) return null;
    for (const queue of queueData.services) {
      for (const ticket of queue.tickets) {
        if (ticket.desk && ticket.desk.id === deskId() && HELD.includes(ticket.status)) return ticket;
      }
    }
    return null;
  }

  function selectedDesk() {
    return config.desks.find((d) => d.id === deskId()) || null;
  }

  // A desk on a break cannot call: the break's notice replaces the call button's use.
  function renderBreak() {
    const desk = selectedDesk();
    const box = $("desk-break");
    box.hidden = !desk;
    if (!desk) return;
    const onBreak = Boolean(desk.break_reason);
    const notice = $("break-notice");
    notice.hidden = !onBreak;
    if (onBreak) {
      notice.textContent = fmt(T.onBreak, {
        reason: T.breakReasons[desk.break_reason] || desk.break_reason,
        time: timeOf(desk.break_started_at),
      });
    }
    $("break-start-row").hidden = onBreak;
    $("break-end").hidden = !onBreak;
  }

  // The desk may call now: chosen, open, and holding no ticket.
  function deskCanCall() {
    return Boolean(deskId()) && !deskOnBreak() && heldTicket() === null;
  }

  function deskOnBreak() {
    const desk = selectedDesk();
    return Boolean(desk && desk.break_reason);
  }

  async function breakAction(path, body) {
    const desk = selectedDesk();
    if (!desk) return;
    const answer = await api("POST", `/api/v1/desks/${desk.id}/${path}`, body);
    if (!answer.ok) {
      flash(errorText(answer), "error");
      return;
    }
    desk.break_reason = answer.data.break_reason;
    desk.break_started_at = answer.data.break_started_at;
    flash(desk.break_reason
      ? fmt(T.breakStarted, { desk: desk.name, reason: T.breakReasons[desk.break_reason] })
      : fmt(T.breakEnded, { desk: desk.name }), "success");
    await refreshQueue();
  }

  $("break-start").addEventListener("click", () => breakAction("break/", { reason: $("break-reason").value }));
  $("break-end").addEventListener("click", () => breakAction("break/end/"));

  function renderDesk() {
    const box = $("desk-current");
    const actions = $("desk-actions");
    currentTicket = heldTicket();
    renderBreak();
    $("call-next").disabled = !deskId() || currentTicket !== null || deskOnBreak();
    $("break-start").disabled = currentTicket !== null;
    if (!deskId()) {
      box.innerHTML = `<p class="hint">${esc(T.noDesk)}</p>`;
      actions.hidden = true;
      return;
    }
    if (!currentTicket) {
      // On a break the notice above says what to do; "press Call next" would contradict it.
      box.innerHTML = deskOnBreak() ? "" : `<p class="hint">${esc(T.deskIdle)}</p>`;
      actions.hidden = true;
      return;
    }
    const t = currentTicket;
    const name = t.patient ? `<p class="patient-big">${esc(t.patient.display_name)}</p>` : "";
    const recalls = t.recall_count ? ` · ${esc(fmt(T.recalls, { n: t.recall_count }))}` : "";
    box.innerHTML = `
      <p class="ticket-code" data-testid="desk-code">${esc(t.display_code)}</p>
      ${name}
      <p><span class="status status-${esc(t.status)}">${esc(T.statuses[t.status] || t.status)}</span>
         · ${esc(t.service.name)}${t.called_at ? ` · ${esc(fmt(T.calledAt, { time: timeOf(t.called_at) }))}` : ""}${recalls}</p>`;
    actions.hidden = false;
    const allowed = t.status === "called"
      ? ["recall", "start", "no-show", "requeue", "transfer"]
      : ["finish", "transfer"];
    for (const button of actions.querySelectorAll("[data-action]")) {
      button.hidden = !allowed.includes(button.dataset.action);
    }
    const transferSelect = $("transfer-service");
    const keep = transferSelect.value;
    transferSelect.innerHTML = "";
    for (const service of config.services) {
      if (service.id !== t.service.id) transferSelect.add(new Option(service.name, service.id));
    }
    if (keep) transferSelect.value = keep;
    actions.querySelector(".transfer").hidden = transferSelect.options.length === 0;
  }

  // Another screen may have started or ended the desk's break: read it when the desk is chosen.
  async function refreshDeskState() {
    const desk = selectedDesk();
    if (!desk) return;
    const answer = await api("GET", `/api/v1/desks/${desk.id}/`);
    if (answer.ok && answer.data) {
      desk.break_reason = answer.data.break_reason;
      desk.break_started_at = answer.data.break_started_at;
      if (queueData) renderQueue();
      renderDesk();
    }
  }

  deskSelect.addEventListener("change", () => {
    localStorage.setItem(deskKey, deskSelect.value);
    if (queueData) renderQueue();  // "Call this one" follows the desk's services
    renderDesk();
    refreshDeskState();
  });

  $("call-next").addEventListener("click", async () => {
    const button = $("call-next");
    button.disabled = true;
    const answer = await api("POST", `/api/v1/desks/${deskId()}/call-next/`);
    if (!answer.ok) {
      flash(errorText(answer), "error");
      if (answer.status === 409) await refreshDeskState();
    } else if (!answer.data.ticket) {
      flash(T.emptyQueueForDesk, "info");
    } else {
      const desk = config.desks.find((d) => d.id === deskId());
      flash(fmt(T.called, { code: answer.data.ticket.display_code, desk: desk ? desk.name : "" }), "success");
    }
    await refreshQueue();
  });

  // No-show asks first, naming the patient; then it can be undone for a few seconds.
  const noShowDialog = $("no-show-dialog");
  let noShowTicket = null;
  $("no-show-close").addEventListener("click", () => noShowDialog.close());
  $("no-show-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const t = noShowTicket;
    noShowDialog.close();
    if (!t) return;
    const answer = await api("POST", `/api/v1/tickets/${t.id}/no-show/`);
    const ticket = { code: t.display_code, name: t.patient ? t.patient.display_name : "" };
    if (!answer.ok) {
      flash(errorText(answer), "error");
    } else {
      offerUndo(`${who(ticket)}: ${T.statuses.no_show}`, {
        url: `/api/v1/tickets/${t.id}/no-show/undo/`,
        done: fmt(T.restored, { code: who(ticket) }),
      });
    }
    await refreshQueue();
    if (!$("call-next").disabled) $("call-next").focus();
  });

  $("desk-actions").addEventListener("click", async (event) => {
    const button = event.target.closest("[data-action]");
    if (!button || !currentTicket) return;
    const action = button.dataset.action;
    const ticket = currentTicket;
    if (action === "no-show") {
      noShowTicket = ticket;
      $("no-show-who").textContent = who({
        code: ticket.display_code, name: ticket.patient ? ticket.patient.display_name : "",
      });
      noShowDialog.showModal();
      $("no-show-confirm").focus();
      return;
    }
    let body;
    if (action === "transfer") body = { service: Number($("transfer-service").value) };
    button.disabled = true;
    const answer = await api("POST", `/api/v1/tickets/${ticket.id}/${action}/`, body);
    button.disabled = false;
    if (!answer.ok) {
      flash(errorText(answer), "error");
    } else if (action === "transfer") {
      flash(fmt(T.transferred, {
        code: ticket.display_code, new: answer.data.display_code, service: serviceName(answer.data.service.id),
      }), "success");
    } else {
      flash(`${ticket.display_code}: ${T.statuses[answer.data.status] || answer.data.status}`, "success");
    }
    await refreshQueue();
    if (!$("call-next").disabled) $("call-next").focus();
  });

  renderDesk();
  // The clinic's live stream says when the queue changed (any desk, any check-in); polling
  // every few seconds takes over while it is cut.
  live({ url: config.events, refresh: refreshQueue, onEvent: (event, again) => again(),
    pollMs: QUEUE_REFRESH_MS });
})();
