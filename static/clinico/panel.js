// Waiting-room TV panel: follows the clinic's calls on its live stream (polling the panel API
// every 2 s while the stream is cut), chimes, highlights and says each new call aloud.
// Shows and says ticket codes and desk names only.
"use strict";

// A console link's "#key=…" has done its work (the cookie holds the panel): keep it off the
// screen. A new link opened on this TV changes only the fragment: load the page again, which
// takes the new key if the cookie's has been replaced.
if (location.hash) history.replaceState(null, "", location.pathname);
window.addEventListener("hashchange", () => {
  if (/(?:^#|&)key=/.test(location.hash)) location.reload();
});

(function () {
  const { $, pageConfig, esc, fmt, api, clockTime, live } = window.clinico;
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
    if (!ctx || ctx.state !== "running") return false;
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
    return true;
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

  // ---- the voice: "Senha R 0 0 5, Guichê 2", after the chime ---------------------------------
  // On or off and the rate are this TV's (its browser's storage), set with the header controls.
  const VOICE_KEY = "clinico.panel.voice";
  const RATE_KEY = "clinico.panel.rate";
  const CHIME_S = 1.5;

  function voiceOn() { return localStorage.getItem(VOICE_KEY) !== "off"; }
  function voiceRate() {
    const rate = Number(localStorage.getItem(RATE_KEY));
    return rate >= 0.5 && rate <= 2 ? rate : 0.9;
  }

  // Letters and digits one by one, so "R005" is said "R, zero, zero, five" and not a number.
  function spoken(call) {
    const code = String(call.display_code).split("").join(" ");
    return fmt(T.speech, { code, desk: call.desk });
  }

  function say(calls, delaySeconds) {
    const synth = window.speechSynthesis;
    if (!voiceOn() || !synth || !window.SpeechSynthesisUtterance) return;
    const lang = document.documentElement.lang || "pt-BR";
    const voice = (synth.getVoices ? synth.getVoices() : [])
      .find((v) => v.lang && v.lang.toLowerCase().startsWith(lang.slice(0, 2).toLowerCase()));
    setTimeout(() => {
      for (const call of calls) {
        const utterance = new SpeechSynthesisUtterance(spoken(call));
        utterance.lang = lang.toLowerCase() === "pt-br" ? "pt-BR" : lang;
        utterance.rate = voiceRate();
        if (voice) utterance.voice = voice;
        synth.speak(utterance);
      }
    }, delaySeconds * 1000);
  }

  function showVoiceControls() {
    const toggle = $("voice-toggle");
    const rate = $("voice-rate");
    if (!toggle || !rate) return;
    toggle.textContent = voiceOn() ? T.voiceOn : T.voiceOff;
    toggle.setAttribute("aria-pressed", String(voiceOn()));
    rate.value = String(voiceRate());
  }
  if ($("voice-toggle")) {
    $("voice-toggle").addEventListener("click", () => {
      localStorage.setItem(VOICE_KEY, voiceOn() ? "off" : "on");
      showVoiceControls();
    });
    $("voice-rate").addEventListener("change", (event) => {
      localStorage.setItem(RATE_KEY, event.target.value);
      showVoiceControls();
    });
  }

  function status(message) {
    const box = $("panel-status");
    box.textContent = message || "";
    box.hidden = !message;
  }

  // "Last calls" holds each ticket once, at its latest call: a recall updates its entry (and a
  // recall of the ticket now shown leaves no second entry below it).
  function oneEntryPerTicket(calls) {
    const seen = new Set();
    return calls.filter((call) => {
      if (seen.has(call.display_code)) return false;
      seen.add(call.display_code);
      return true;
    });
  }

  function render(data) {
    const calls = data.recent_calls || [];
    const latest = calls[0];
    const changed = $("now-changed");
    if (latest) {
      // The printed code stays: the patient holds that paper; the new code is said below it.
      $("now-code").textContent = latest.display_code;
      $("now-desk").textContent = latest.desk;
      changed.textContent = latest.transferred_to ? fmt(T.changedTo, { code: latest.transferred_to }) : "";
      changed.hidden = !latest.transferred_to;
    } else {
      $("now-code").textContent = "—";
      $("now-desk").textContent = T.waiting;
      changed.hidden = true;
    }
    $("desks").innerHTML = (data.desks || []).map((desk) => `
      <li class="panel-desk${desk.ticket ? " busy" : ""}${desk.closed ? " closed" : ""}">
        <span class="panel-desk-name">${esc(desk.desk)}</span>
        <span class="panel-desk-code">${desk.closed ? esc(T.closed) : desk.ticket ? esc(desk.ticket.display_code) : "—"}</span>
      </li>`).join("");
    const earlier = oneEntryPerTicket(calls).slice(1);
    $("recent").innerHTML = earlier.length
      ? earlier.map((call) => `
      <li><span class="recent-code">${esc(call.display_code)}${call.transferred_to
        ? ` <span class="recent-changed">→ ${esc(call.transferred_to)}</span>` : ""}</span>
          <span class="recent-desk">${esc(call.desk)}</span></li>`).join("")
      : `<li class="recent-empty">—</li>`;
    if (latest && lastEventId !== null && latest.event_id > lastEventId) {
      highlight();
      const chimed = chime();
      // Each call not yet announced, oldest first (a recall is a call of its own).
      const fresh = calls.filter((call) => call.event_id > lastEventId).reverse().slice(-3);
      say(fresh, chimed ? CHIME_S : 0);
    }
    if (latest) lastEventId = Math.max(lastEventId ?? 0, latest.event_id);
    else if (lastEventId === null) lastEventId = 0;
  }

  // The panel cookie (HttpOnly, set when this TV opened the console's link) authenticates the
  // stream and the reads: the key itself is in no request.
  async function refresh() {
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
  }

  function tick() {
    $("panel-clock").textContent = clockTime(new Date(), document.documentElement.lang);
  }

  tick();
  setInterval(tick, 10000);
  offerSound();
  showVoiceControls();
  // A call, a recall or a desk freed: read the panel again (it says what changed, and how).
  live({ url: config.events, refresh, onEvent: (event, again) => again(), pollMs: POLL_MS });
})();
