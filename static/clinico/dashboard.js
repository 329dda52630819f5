// Chain dashboard: refreshes the live figures and opens clinics through the chain API.
"use strict";

(function () {
  const config = JSON.parse(document.getElementById("dashboard-config").textContent);
  const T = config.strings;
  const LIVE_REFRESH_MS = 15000;

  function fmt(template, params) {
    return template.replace(/%\((\w+)\)s/g, (_, key) => (key in params ? params[key] : ""));
  }

  function csrfToken() {
    const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  async function refreshLive() {
    try {
      const response = await fetch("/dashboard/live/", { credentials: "same-origin", cache: "no-store" });
      if (response.ok) {
        const data = await response.json();
        for (const [slug, live] of Object.entries(data.clinics)) {
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
    } catch (error) {
      // The next refresh tries again; the figures on screen stay as they were.
    }
    setTimeout(refreshLive, LIVE_REFRESH_MS);
  }

  for (const form of document.querySelectorAll(".provision-form")) {
    const chain = form.dataset.chain;
    const formError = form.querySelector(".form-error");
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      for (const box of form.querySelectorAll(".field-error")) box.hidden = true;
      for (const input of form.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
      formError.hidden = true;
      const body = {};
      for (const name of ["name", "slug", "timezone", "reset_time"]) {
        const value = form.elements[name].value.trim();
        if (value) body[name] = value;
      }
      const button = form.querySelector("button[type=submit]");
      button.disabled = true;
      button.textContent = T.opening;
      let response, data = null;
      try {
        response = await fetch(`/api/v1/chains/${chain}/clinics/`, {
          method: "POST",
          credentials: "same-origin",
          headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken() },
          body: JSON.stringify(body),
        });
        try { data = await response.json(); } catch (error) { data = null; }
      } catch (error) {
        response = null;
      }
      button.disabled = false;
      button.textContent = button.dataset.label;
      if (response && response.ok) {
        sessionStorage.setItem("clinico.flash", fmt(T.opened, { name: data.name, host: data.host }));
        location.reload();
        return;
      }
      if (!response) {
        formError.textContent = T.networkError;
        formError.hidden = false;
        return;
      }
      const errors = (data && data.errors) || [];
      let unplaced = [];
      for (const error of errors) {
        const box = error.attr && document.getElementById(`${error.attr}-${chain}-error`);
        if (box) {
          box.textContent = error.detail;
          box.hidden = false;
          const input = form.elements[error.attr];
          if (input) input.setAttribute("aria-invalid", "true");
        } else {
          unplaced.push(error.detail);
        }
      }
      if (!errors.length) unplaced = [fmt(T.genericError, { status: response.status })];
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
    const box = document.getElementById("flash");
    box.textContent = message;
    box.className = "flash flash-success";
    box.hidden = false;
  }

  setTimeout(refreshLive, LIVE_REFRESH_MS);
})();
