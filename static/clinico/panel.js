// Waiting-room TV panel: polls the panel API every 2 s, chimes and highlights each new call.
// Shows ticket codes and desk names only.
"use strict";

// A console link's "#key=…" has done its work (the cookie holds the panel): keep it off the
// screen. A new link opened on this TV changes only the fragment: load the page again, which
// takes the new key if the cookie's has been replaced.
if (location.hash) history.replaceState(null, "", location.pathname);
window.addEventListener("hashchange", () => {
  if (/(?:^#|&)key=/.test(location.hash)) location.reload();
});

(function () {
  const { $, pageConfig, esc, api, clockTime } = window.clinico;
  const config = pageConfig("panel-config");
  const T = config.strings;
  const POLL_MS = 2000;
  let lastEventId = null;
  let audio = null;

  function audioContext() {
    if (!audio) {
      const Context = window.AudioContext || window.webkitAudioContext;
      if (!Context) return null;
      audio = new Context();
    }
    return audio;
  }

  // Two soft tones (a "ding-dong"), generated: no audio file to load.
  function chime() {
    const ctx = audioContext();
    if (!ctx || ctx.state !== "running") return;
    const start = ctx.currentTime + 0.05;
    [[880, 0], [660, 0.45]].forEach(([frequency, offset]) => {
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.type = "sine";
      osc.frequency.value = frequency;
      gain.gain.setValueAtTime(0.0001, start + offset);
      gain.gain.exponentialRampToValueAtTime(0.4, start + offset + 0.03);
      gain.gain.exponentialRampToValueAtTime(0.0001, start + offset + 0.9);
      osc.connect(gain).connect(ctx.destination);
      osc.start(start + offset);
      osc.stop(start + offset + 1);
    });
  }

  // Browsers start audio suspended until someone interacts; offer a button on the TV.
  function offerSound() {
    const ctx = audioContext();
    const button = $("sound-on");
    if (!ctx) return;
    if (ctx.state === "running") {
      button.hidden = true;
      return;
    }
    ctx.resume().then(() => { button.hidden = ctx.state === "running"; }).catch(() => {});
    button.hidden = ctx.state === "running";
  }
  $("sound-on").addEventListener("click", () => {
    audioContext().resume().then(() => { $("sound-on").hidden = true; chime(); });
  });

  function highlight() {
    const now = $("now");
    now.classList.remove("flash-call");
    void now.offsetWidth; // restart the animation
    now.classList.add("flash-call");
  }

  function status(message) {
    const box = $("panel-status");
    box.textContent = message || "";
    box.hidden = !message;
  }

  function render(data) {
    const calls = data.recent_calls || [];
    const latest = calls[0];
    if (latest) {
      $("now-code").textContent = latest.display_code;
      $("now-desk").textContent = latest.desk;
    } else {
      $("now-code").textContent = "—";
      $("now-desk").textContent = T.waiting;
    }
    $("desks").innerHTML = (data.desks || []).map((desk) => `
      <li class="panel-desk${desk.ticket ? " busy" : ""}${desk.closed ? " closed" : ""}">
        <span class="panel-desk-name">${esc(desk.desk)}</span>
        <span class="panel-desk-code">${desk.closed ? esc(T.closed) : desk.ticket ? esc(desk.ticket.display_code) : "—"}</span>
      </li>`).join("");
    const earlier = calls.slice(1);
    $("recent").innerHTML = earlier.length
      ? earlier.map((call) => `
      <li><span class="recent-code">${esc(call.display_code)}</span>
          <span class="recent-desk">${esc(call.desk)}</span></li>`).join("")
      : `<li class="recent-empty">—</li>`;
    if (latest && lastEventId !== null && latest.event_id > lastEventId) {
      highlight();
      chime();
    }
    if (latest) lastEventId = Math.max(lastEventId ?? 0, latest.event_id);
    else if (lastEventId === null) lastEventId = 0;
  }

  // The panel cookie (HttpOnly, set when this TV opened the console's link) authenticates the
  // polls: the key itself is in no request.
  async function poll() {
    const answer = await api("GET", "/api/v1/panel/");
    if (answer.status === 403) {
      // The key was rotated: the page now explains it and asks for the new link.
      status(T.keyRefused);
      setTimeout(() => location.reload(), POLL_MS);
      return;
    }
    let shown = false;
    if (answer.ok && answer.data) {
      // Whatever goes wrong, the TV keeps polling: it must recover without anyone at it.
      try {
        render(answer.data);
        shown = true;
      } catch (error) {
        shown = false;
      }
    }
    status(shown ? "" : T.offline);
    setTimeout(poll, POLL_MS);
  }

  function tick() {
    $("panel-clock").textContent = clockTime(new Date(), document.documentElement.lang);
  }

  tick();
  setInterval(tick, 10000);
  offerSound();
  poll();
})();
