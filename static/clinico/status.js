// The patient's status page. The signed token is the URL's fragment (browsers never send it):
// each read of the state posts it in a body to /s/state/. The first answer leaves the token in
// an HttpOnly cookie for this ticket's live stream (/events/status/<ticket id>/), which the page
// then follows: it reads its state again on each of the ticket's events (a call shows at once),
// and every `streamingRefreshSeconds` for its place in the queue (others' calls move it without
// an event of this ticket). While the stream is cut it polls every `pollSeconds`.
"use strict";

(function () {
  const { $, pageConfig, fmt, clockTime, live, liveState } = window.clinico;
  const config = pageConfig("status-config");
  const T = config.strings;
  const language = document.documentElement.lang;
  const token = decodeURIComponent(location.hash.replace(/^#/, ""));
  const pollMs = config.pollSeconds * 1000;
  let stream = null;
  let followed = null;  // the ticket the stream follows: a transfer opens another
  let finished = false;
  let lastDesk = null;

  // The language switch comes back to this page with its fragment (the token), in a POST body.
  const next = document.querySelector(".lang-form input[name=next]");
  if (next) next.value = location.pathname + location.hash;

  function stop() {
    finished = true;
    if (stream) stream.stop();
  }

  function finish(sectionId) {
    stop();
    document.querySelector(".status-card").hidden = true;
    $(sectionId).hidden = false;
  }

  function show(state) {
    $("status-code").textContent = state.display_code;
    // A transfer gives the ticket a new code: say so, and keep the paper's code in sight.
    const changed = state.printed_code && state.printed_code !== state.display_code;
    $("status-changed").hidden = !changed;
    if (changed) {
      $("status-changed-to").textContent = fmt(T.changedTo, { code: state.display_code });
      $("status-printed").textContent = fmt(T.printedCode, { code: state.printed_code });
    }
    $("status-service").textContent = state.service;
    const now = $("status-now");
    now.className = `status-now status-${state.status}`;
    let headline = T.statuses[state.status] || state.status;
    let detail = "";
    $("status-facts").hidden = state.status !== "waiting";
    if (state.status === "waiting") {
      headline = state.position === 1 ? T.next : fmt(T.ahead, { n: state.position - 1 });
      $("status-position").textContent = state.position != null ? `${state.position}º` : "—";
      $("status-wait").textContent = state.estimated_wait_minutes != null
        ? fmt(T.minutes, { n: state.estimated_wait_minutes }) : T.noEstimate;
    } else if (state.status === "called") {
      headline = fmt(T.calledTo, { desk: state.desk || "" });
      detail = T.goNow;
      const key = `${state.desk}|${state.called_at}|${state.recall_count}`;
      if (lastDesk !== key && navigator.vibrate) navigator.vibrate([300, 150, 300]);
      lastDesk = key;
    } else if (state.status === "in_service") {
      headline = fmt(T.inService, { desk: state.desk || "" });
    } else if (state.status === "done") {
      headline = T.finished;
    }
    $("status-headline").textContent = headline;
    $("status-detail").textContent = detail;
    $("status-updated").textContent = fmt(T.updatedAt, { time: clockTime(new Date(), language) });
  }

  async function refresh() {
    if (finished) return;
    const answer = await window.clinico.api("POST", config.stateUrl, { token });
    if (answer.status === 410) return finish("status-ended");
    if (answer.status === 404 || answer.status === 400) return finish("status-refused");
    if (!answer.ok) {
      $("status-updated").textContent = answer.status === 0
        ? T.networkError : fmt(T.genericError, { status: answer.status });
      return;
    }
    const state = answer.data;
    show(state);
    if (state.ended) return stop();
    if (!stream) {
      // The answer has just left the stream's cookie: follow the ticket from now on.
      followed = state.ticket_id;
      const url = config.events ? `${config.events}${state.link_ticket_id}/` : null;
      stream = live({ url, refresh, onEvent: (event, again) => again(), pollMs });
    } else if (state.ticket_id !== followed) {
      followed = state.ticket_id;  // transferred: the stream follows the new ticket
      stream.reopen();
    }
  }

  // Until a first answer (a network error), poll; then the stream (or its polls) takes over.
  async function start() {
    await refresh();
    if (!stream && !finished) setTimeout(start, pollMs);
  }

  setInterval(() => {
    if (stream && !finished && liveState.mode === "streaming") stream.refresh();
  }, config.streamingRefreshSeconds * 1000);

  window.clinicoStatus = Object.freeze({ show });
  if (!token) finish("status-refused");
  else start();
})();
