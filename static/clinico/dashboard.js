// Chain dashboard: refreshes the live figures and opens clinics through the chain API.
"use strict";

(function () {
  const { $, pageConfig, fmt, number, api, clearFieldErrors, live } = window.clinico;
  const config = pageConfig("dashboard-config");
  const T = config.strings;
  const LIVE_REFRESH_MS = 15000;

  const MINUTES = ["wait_avg_min", "wait_p90_min"];

  function shown(name, value) {
    if (value == null) return "–";
    if (MINUTES.includes(name)) return `${number(value)} min`;
    return typeof value === "number" ? number(value) : value;
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

  // "Clínica Walk Norte está aberta em <link>": the new clinic's address, one click away.
  function showOpened() {
    const stored = sessionStorage.getItem("clinico.opened");
    if (!stored) return;
    sessionStorage.removeItem("clinico.opened");
    const opened = JSON.parse(stored);
    const box = $("flash");
    const [before, after] = fmt(T.opened, { name: opened.name, link: "\u0000" }).split("\u0000");
    const link = document.createElement("a");
    link.href = opened.url;
    link.textContent = opened.url.replace(/^https?:\/\//, "").replace(/\/$/, "");
    box.replaceChildren(before, link, after || "");
    box.className = "flash flash-success";
    box.hidden = false;
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
        const port = location.port ? `:${location.port}` : "";
        const opened = { name: clinic.name, url: `${location.protocol}//${clinic.host}${port}/` };
        sessionStorage.setItem("clinico.opened", JSON.stringify(opened));
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

  showOpened();

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
