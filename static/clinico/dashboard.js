// Chain dashboard: refreshes the live figures and opens clinics through the chain API.
"use strict";

(function () {
  const { $, pageConfig, fmt, api, clearFieldErrors } = window.clinico;
  const config = pageConfig("dashboard-config");
  const T = config.strings;
  const LIVE_REFRESH_MS = 15000;

  function showLive(clinics) {
    for (const [slug, live] of Object.entries(clinics)) {
      const row = document.querySelector(`tr[data-clinic="${slug}"]`);
      if (!row || !live) continue;
      for (const cell of row.querySelectorAll("[data-fig]")) {
        const value = live[cell.dataset.fig];
        cell.textContent = cell.dataset.fig === "wait_avg_min"
          ? (value == null ? "–" : `${value} min`) : value;
      }
    }
    const time = new Date().toLocaleTimeString(document.documentElement.lang);
    for (const label of document.querySelectorAll("[data-live-updated]")) label.textContent = time;
  }

  // A failed refresh leaves the figures on screen as they were; the next one tries again.
  async function refreshLive() {
    const answer = await api("GET", "/dashboard/live/");
    if (answer.ok && answer.data && answer.data.clinics) showLive(answer.data.clinics);
    setTimeout(refreshLive, LIVE_REFRESH_MS);
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

  setTimeout(refreshLive, LIVE_REFRESH_MS);
})();
