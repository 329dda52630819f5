// Helpers the pages' scripts share, under window.clinico. Each page loads this file before its
// own script (both deferred, so they run in that order); plain JavaScript, no build step.
"use strict";

window.clinico = (function () {
  const $ = (id) => document.getElementById(id);

  // The page's settings and texts, rendered by the view with Django's json_script.
  function pageConfig(id) {
    return JSON.parse($(id).textContent);
  }

  // Fills Python-style "%(name)s" placeholders: the texts come translated from the view.
  function fmt(template, params) {
    return template.replace(/%\((\w+)\)s/g, (_, key) => (key in params ? params[key] : ""));
  }

  function esc(value) {
    return String(value ?? "").replace(/[&<>"']/g, (c) => ({
      "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;",
    })[c]);
  }

  function csrfToken() {
    const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  // A JSON call with the session cookie and Django's CSRF header. Every call answers
  // {ok, status, data}; a network failure answers status 0, a body that is not JSON data null.
  // The pages show live data: never an answer from the browser's cache.
  async function api(method, url, body) {
    const options = {
      method,
      credentials: "same-origin",
      cache: "no-store",
      headers: { Accept: "application/json", "X-CSRFToken": csrfToken() },
    };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(url, options);
    } catch (error) {
      return { ok: false, status: 0, data: null };
    }
    let data = null;
    try {
      data = await response.json();
    } catch (error) {
      data = null;
    }
    return { ok: response.ok, status: response.status, data };
  }

  // Hides a form's field errors (`.field-error` boxes) and unmarks its invalid inputs.
  function clearFieldErrors(form) {
    for (const box of form.querySelectorAll(".field-error")) {
      box.hidden = true;
      box.textContent = "";
    }
    for (const input of form.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
  }

  // Hours and minutes in the page's language, e.g. "14:05".
  function clockTime(date, language) {
    return date.toLocaleTimeString(language, { hour: "2-digit", minute: "2-digit" });
  }

  return Object.freeze({ $, pageConfig, fmt, esc, csrfToken, api, clearFieldErrors, clockTime });
})();
