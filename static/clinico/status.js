// The patient's status page. The signed token is the URL's fragment (browsers never send it):
// each poll posts it in a body to /s/state/, every few seconds, so a call to a desk shows
// without a reload. A live stream may replace the polls; they stay the fallback.
"use strict";

(function () {
  const { $, pageConfig, fmt, clockTime } = window.clinico;
  const config = pageConfig("status-config");
  const T = config.strings;
  const language = document.documentElement.lang;
  const token = decodeURIComponent(location.hash.replace(/^#/, ""));
  let timer = null;
  let lastDesk = null;

  // The language switch comes back to this page with its fragment (the token), in a POST body.
  const next = document.querySelector(".lang-form input[name=next]");
  if (next) next.value = location.pathname + location.hash;

  function finish(sectionId) {
    clearTimeout(timer);
    timer = null;
    document.querySelector(".status-card").hidden = true;
    $(sectionId).hidden = false;
  }

  function show(state) {
    $("status-code").textContent = state.display_code;
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

  async function poll() {
    const answer = await window.clinico.api("POST", config.stateUrl, { token });
    if (answer.status === 410) return finish("status-ended");
    if (answer.status === 404 || answer.status === 400) return finish("status-refused");
    if (answer.ok) {
      show(answer.data);
      if (answer.data.ended) return;
    } else {
      $("status-updated").textContent = answer.status === 0
        ? T.networkError : fmt(T.genericError, { status: answer.status });
    }
    timer = setTimeout(poll, config.pollSeconds * 1000);
  }

  // A live stream (when the page has one) hands its states here; the polls keep running.
  window.clinicoStatus = Object.freeze({ show });
  if (!token) finish("status-refused");
  else poll();
})();
