// Chain dashboard: refreshes the live figures and opens clinics through the chain API.
"use strict";

(function () {
  const { $, pageConfig, fmt, api, clearFieldErrors, live } = window.clinico;
  const config = pageConfig("dashboard-config");
  const T = config.strings;
  const LIVE_REFRESH_MS = 15000;

  const MINUTES = ["wait_avg_min", "wait_p90_min"];

  function shown(name, value) {
    if (MINUTES.includes(name)) return value == null ? "–" : `${value} min`;
    return value;
  }

  function showLive(clinics, totals) {
    for (const [slug, live] of Object.entries(clinics)) {
      const row = document.querySelector(`tr[data-clinic="${slug}"]`);
      if (!row || !live) continue;
      for (const cell of row.querySelectorAll("[data-fig]")) {
        cell.textContent = shown(cell.dataset.fig, live[cell.dataset.fig]);
      }
    }
    for (const cell of document.querySelectorAll("[data-total]")) {
      if (totals && cell.dataset.total in totals) {
        cell.textContent = shown(cell.dataset.total, totals[cell.dataset.total]);
      }
    }
    const time = new Date().toLocaleTimeString(document.documentElement.lang);
    for (const label of document.querySelectorAll("[data-live-updated]")) label.textContent = time;
  }

  // A failed refresh leaves the figures on screen as they were; the next one tries again.
  async function refreshLive() {
    // The page's chain and page of clinics only: the refresh costs the same at any chain size.
    const query = new URLSearchParams();
    if (config.chain) query.set("chain", config.chain);
    query.set("page", config.page || 1);
    const answer = await api("GET", `/dashboard/live/?${query}`);
    if (answer.ok && answer.data && answer.data.clinics) showLive(answer.data.clinics, answer.data.totals);
  }

  for (const form of document.querySelectorAll(".provision-form")) {
    const chain = form.dataset.chain;
    const formError = form.querySelector(".form-error");
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearFieldErrors(form);
      formError.hidden = true;
      const body = {};
      for (const name of ["name", "slug", "timezone", "reset_time", "admin_email"]) {
        const value = form.elements[name].value.trim();
        if (value) body[name] = value;
      }
      const button = form.querySelector("button[type=submit]");
      button.disabled = true;
      button.textContent = T.opening;
      const answer = await api("POST", `/api/v1/chains/${chain}/clinics/`, body);
      button.disabled = false;
      button.textContent = button.dataset.label;
      if (answer.ok) {
        const clinic = answer.data;
        sessionStorage.setItem("clinico.flash", fmt(T.opened, { name: clinic.name, host: clinic.host }));
        location.reload();
        return;
      }
      if (answer.status === 0) {
        formError.textContent = T.networkError;
        formError.hidden = false;
        return;
      }
      const errors = (answer.data && answer.data.errors) || [];
      let unplaced = [];
      for (const error of errors) {
        const box = error.attr && $(`${error.attr}-${chain}-error`);
        if (box) {
          box.textContent = error.detail;
          box.hidden = false;
          const input = form.elements[error.attr];
          if (input) input.setAttribute("aria-invalid", "true");
        } else {
          unplaced.push(error.detail);
        }
      }
      if (!errors.length) unplaced = [fmt(T.genericError, { status: answer.status })];
      if (unplaced.length) {
        formError.textContent = unplaced.join(" ");
        formError.hidden = false;
      }
      const invalid = form.querySelector("[aria-invalid]");
      if (invalid) invalid.focus();
    });
    const button = form.querySelector("button[type=submit]");
    button.dataset.label = button.textContent;
  }

  const message = sessionStorage.getItem("clinico.flash");
  if (message) {
    sessionStorage.removeItem("clinico.flash");
    const box = $("flash");
    box.textContent = message;
    box.className = "flash flash-success";
    box.hidden = false;
  }

  // The chain's live stream says which clinic changed; the figures are read again at most once
  // a second however busy the clinics are. Polling takes over while the stream is cut.
  let pending = null;
  live({
    url: config.events,
    refresh: refreshLive,
    onEvent: (event, again) => {
      if (pending) return;
      pending = setTimeout(() => { pending = null; again(); }, 1000);
    },
    pollMs: LIVE_REFRESH_MS,
  });
})();
