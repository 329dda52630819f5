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

  // A number as the page's language writes it ("0,4" in pt-BR; "1.234"): Intl, not toString.
  function number(value, maximumFractionDigits = 1) {
    const language = document.documentElement.lang || "pt-BR";
    return new Intl.NumberFormat(language, { maximumFractionDigits }).format(value);
  }

  // "529.982.247-25" as the digits are typed (the check-in and the booking CPF fields).
  function cpfFormat(digits) {
    const d = String(digits).replace(/\D/g, "").slice(0, 11);
    if (d.length <= 3) return d;
    if (d.length <= 6) return `${d.slice(0, 3)}.${d.slice(3)}`;
    if (d.length <= 9) return `${d.slice(0, 3)}.${d.slice(3, 6)}.${d.slice(6)}`;
    return `${d.slice(0, 3)}.${d.slice(3, 6)}.${d.slice(6, 9)}-${d.slice(9)}`;
  }

  // Formats a CPF input as it is typed; digits typed before the script ran too.
  function cpfMask(input) {
    input.addEventListener("input", () => {
      const formatted = cpfFormat(input.value);
      if (formatted !== input.value) input.value = formatted;
    });
    input.value = cpfFormat(input.value);
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
      // Answers (errors included) in the page's language, whatever the browser's own.
      headers: {
        Accept: "application/json",
        "Accept-Language": document.documentElement.lang || "pt-BR",
        "X-CSRFToken": csrfToken(),
      },
    };
    // A GET is the page reading its data again, not the person acting: it does not keep a
    // signed-in session from ending when nobody is at the screen (common/sessions.py).
    if (method === "GET") options.headers["X-Clinico-Background"] = "1";
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

  // Hours and minutes in the page's language and in the clinic's timezone (the IANA name the
  // page carries on <html data-timezone>), e.g. "14:05": a reception PC or a TV set to another
  // zone, or to UTC, still shows the clinic's time.
  function clockTime(date, language, timeZone) {
    const zone = timeZone || document.documentElement.dataset.timezone || undefined;
    return new Intl.DateTimeFormat(language, { hour: "2-digit", minute: "2-digit", timeZone: zone })
      .format(date);
  }


  // Live updates: the page's server-sent event stream while it is up, polling while it is not.
  // `refresh()` loads the page's data once (the same call polling makes); `onEvent(event)`
  // handles one streamed event (a page usually refreshes). When the stream is cut, refused or
  // not served, the page polls every `pollMs` and opens the stream again after a growing pause,
  // with `?last_event_id=` so that the events it missed come first (read from the outbox).
  // It returns `refresh()` (one refresh now), `reopen()` (open the stream again at once, e.g.
  // for a page whose stream URL follows something that changed) and `stop()` (no more stream
  // nor polls: the page has nothing left to follow).
  // window.clinico.liveState tells tests and curious people what the page is doing.
  const liveState = { mode: "starting", lastEventId: null, received: [], opens: 0 };
  function live({ url, refresh, onEvent, pollMs }) {
    let source = null;
    let pollTimer = null;
    let retryMs = 1000;
    let refreshing = null;
    let again = false;
    let stopped = false;
    let retryTimer = null;

    // One refresh at a time; events that arrive meanwhile ask for one more afterwards.
    async function refreshOnce() {
      if (refreshing) { again = true; return refreshing; }
      refreshing = (async () => {
        do { again = false; await refresh(); } while (again);
      })();
      try { await refreshing; } finally { refreshing = null; }
    }

    function poll() {
      clearTimeout(pollTimer);
      if (stopped || liveState.mode === "streaming") return;
      refreshOnce().finally(() => {
        if (liveState.mode !== "streaming") pollTimer = setTimeout(poll, pollMs);
      });
    }

    // A stream that went silent (a dead connection nobody closed) is treated as cut.
    let watchdog = null;
    let heartbeatS = 15;
    function watch(seconds) {
      if (seconds) heartbeatS = seconds;
      clearTimeout(watchdog);
      watchdog = setTimeout(fallBack, heartbeatS * 3000);
    }

    function fallBack() {
      clearTimeout(watchdog);
      if (source) source.close();
      source = null;
      if (stopped) return;
      if (liveState.mode !== "polling") { liveState.mode = "polling"; poll(); }
      if (!url || !window.EventSource) return;
      clearTimeout(retryTimer);
      retryTimer = setTimeout(connect, retryMs);
      retryMs = Math.min(retryMs * 2, 30000);
    }

    function connect() {
      if (stopped) return;
      const resume = liveState.lastEventId === null
        ? "" : `${url.includes("?") ? "&" : "?"}last_event_id=${liveState.lastEventId}`;
      source = new EventSource(url + resume, { withCredentials: true });
      source.onmessage = (message) => {
        let event;
        try { event = JSON.parse(message.data); } catch (error) { return; }
        if (message.lastEventId) liveState.lastEventId = Number(message.lastEventId);
        watch(event.heartbeat_s);
        if (event.kind === "stream.heartbeat") return;
        if (event.kind === "stream.open") {
          liveState.mode = "streaming";
          liveState.opens += 1;
          retryMs = 1000;
          clearTimeout(pollTimer);
          refreshOnce();
          return;
        }
        if (event.kind === "stream.refused") { fallBack(); return; }
        liveState.received.push(event.id ?? event.kind);
        if (liveState.received.length > 200) liveState.received.shift();
        onEvent(event, refreshOnce);
      };
      // The browser would reconnect by itself, but without polling meanwhile: take over.
      source.onerror = fallBack;
    }

    if (url && window.EventSource) {
      refreshOnce();
      connect();
      // Neither open nor refused yet after a few seconds: poll meanwhile.
      setTimeout(() => { if (liveState.mode === "starting") fallBack(); }, 5000);
    } else {
      liveState.mode = "polling";
      poll();
    }
    function stop() {
      stopped = true;
      [pollTimer, watchdog, retryTimer].forEach(clearTimeout);
      if (source) source.close();
      source = null;
      liveState.mode = "stopped";
    }

    function reopen() {
      if (stopped || !url || !window.EventSource) return;
      clearTimeout(watchdog);
      clearTimeout(retryTimer);
      if (source) source.close();
      connect();
    }

    return { refresh: refreshOnce, reopen, stop };
  }

  return Object.freeze({
    $, pageConfig, fmt, number, cpfFormat, cpfMask, esc, csrfToken, api, clearFieldErrors, clockTime, live, liveState,
  });
})();

// A <select data-submit-on-change> sends its form when a choice is made (no inline handlers:
// the Content-Security-Policy allows scripts from files only).
for (const field of document.querySelectorAll("[data-submit-on-change]")) {
  field.addEventListener("change", () => field.form.submit());
}
