// The self-service totem: CPF on a big keypad, service, declared priority, a short registration
// (or "go to reception") for a new CPF, then the check-in and the printed ticket. The CPF goes
// in POST bodies only; the Idempotency-Key makes a double touch one check-in.
"use strict";

(function () {
  const { $, pageConfig } = window.clinico;
  const config = pageConfig("totem-config");
  const T = config.strings;
  const IDLE_MS = 90000;
  const STEPS = ["step-cpf", "step-service", "step-priority", "step-register", "step-reception", "step-wait"];

  let state;
  let trail;
  let idleTimer;

  function newKey() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`;
  }

  function show(step, remember = true) {
    if (remember && trail[trail.length - 1] !== step) trail.push(step);
    for (const id of STEPS) $(id).hidden = id !== step;
    const heading = $(step).querySelector("h1");
    if (heading) {
      heading.setAttribute("tabindex", "-1");
      heading.focus({ preventScroll: true });
    }
  }

  function back() {
    trail.pop();
    const previous = trail[trail.length - 1] || "step-cpf";
    if (previous === "step-register") {
      $("register-name").hidden = false;
      $("register-birth").hidden = true;
    }
    show(previous, false);
  }

  function error(id, text) {
    const box = $(id);
    box.textContent = text || "";
    box.hidden = !text;
  }

  // ---- typed values ---------------------------------------------------------------------------
  function cpfFormatted(digits) {
    const mask = "___.___.___-__";
    let i = 0;
    return mask.replace(/_/g, () => (i < digits.length ? digits[i++] : "_"));
  }

  function cpfValid(digits) {
    if (!/^\d{11}$/.test(digits) || /^(\d)\1{10}$/.test(digits)) return false;
    for (const length of [9, 10]) {
      let sum = 0;
      for (let i = 0; i < length; i++) sum += Number(digits[i]) * (length + 1 - i);
      const check = ((sum * 10) % 11) % 10;
      if (check !== Number(digits[length])) return false;
    }
    return true;
  }

  function birthFormatted(digits) {
    const mask = "__/__/____";
    let i = 0;
    return mask.replace(/_/g, () => (i < digits.length ? digits[i++] : "_"));
  }

  function birthIso(digits) {
    if (!/^\d{8}$/.test(digits)) return null;
    const [day, month, year] = [digits.slice(0, 2), digits.slice(2, 4), digits.slice(4)];
    const date = new Date(`${year}-${month}-${day}T12:00:00`);
    if (Number.isNaN(date.getTime()) || date.getDate() !== Number(day) || date > new Date() || Number(year) < 1900) {
      return null;
    }
    return `${year}-${month}-${day}`;
  }

  function render() {
    $("cpf-display").textContent = cpfFormatted(state.cpf);
    $("cpf-display").classList.toggle("is-empty", !state.cpf);
    $("birth-display").textContent = birthFormatted(state.birth);
    $("birth-display").classList.toggle("is-empty", !state.birth);
  }

  // ---- the steps ------------------------------------------------------------------------------
  function start() {
    state = { cpf: "", birth: "", service: null, reason: "", key: newKey() };
    trail = [];
    $("full-name").value = "";
    for (const id of ["cpf-error", "birth-error", "name-error", "wait-error"]) error(id, "");
    $("wait-restart").hidden = true;
    $("register-name").hidden = false;
    $("register-birth").hidden = true;
    render();
    show("step-cpf");
  }

  function cpfConfirmed() {
    if (state.cpf.length !== 11) return error("cpf-error", T.cpfIncomplete);
    if (!cpfValid(state.cpf)) return error("cpf-error", T.cpfInvalid);
    error("cpf-error", "");
    if (config.services.length > 1) return show("step-service");
    state.service = config.services.length ? config.services[0].id : null;
    show("step-priority");
  }

  function birthConfirmed() {
    const iso = birthIso(state.birth);
    if (!iso) return error("birth-error", T.dateInvalid);
    error("birth-error", "");
    submit({ full_name: $("full-name").value.trim(), birth_date: iso });
  }

  async function call(method, url, body) {
    const options = {
      method,
      credentials: "same-origin",
      cache: "no-store",
      headers: { Accept: "application/json" },
    };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.headers["Idempotency-Key"] = state.key;
      options.body = JSON.stringify(body);
    }
    try {
      const response = await fetch(url, options);
      let data = null;
      try { data = await response.json(); } catch (e) { data = null; }
      return { ok: response.ok, status: response.status, data };
    } catch (e) {
      return { ok: false, status: 0, data: null };
    }
  }

  function waitFailed(text) {
    error("wait-error", text);
    $("wait-restart").hidden = false;
  }

  async function submit(patient) {
    show("step-wait");
    const body = { cpf: state.cpf, priority_reason: state.reason };
    if (state.service !== null) body.service = state.service;
    if (patient) body.patient = patient;
    const answer = await call("POST", config.checkInUrl, body);
    if (answer.status === 202 || answer.status === 200) return follow(answer.data.status_url);
    if (answer.status === 403) return waitFailed(T.keyChanged);
    if (answer.status === 429) return waitFailed(T.busy);
    if (answer.status === 400 && answer.data) {
      const errors = answer.data.errors || [];
      if (errors.some((e) => e.code === "register_at_reception")) return show("step-reception");
      if (errors.some((e) => (e.attr || "").startsWith("patient."))) {
        if (!config.register) return show("step-reception");
        if (patient) {
          // The registration sent was refused: say so where it was typed.
          const birth = errors.find((e) => e.attr === "patient.birth_date");
          trail.pop();
          show("step-register", false);
          if (birth) {
            $("register-name").hidden = true;
            $("register-birth").hidden = false;
            return error("birth-error", T.dateInvalid);
          }
          $("register-name").hidden = false;
          $("register-birth").hidden = true;
          return error("name-error", T.nameMissing);
        }
        trail.pop();
        return show("step-register");
      }
      if (errors.some((e) => e.attr === "cpf")) {
        trail = ["step-cpf"];
        show("step-cpf", false);
        return error("cpf-error", T.cpfInvalid);
      }
    }
    if (answer.status === 0) return waitFailed(T.networkError);
    return waitFailed(window.clinico.fmt(T.genericError, { status: answer.status }));
  }

  async function follow(url) {
    const started = Date.now();
    for (;;) {
      const answer = await call("GET", url);
      if (answer.ok && answer.data.status === "queued" && answer.data.ticket) {
        window.location.assign(answer.data.ticket.print_url);
        return;
      }
      if (answer.ok && answer.data.status === "failed") return waitFailed(T.failed);
      if (answer.status === 403) return waitFailed(T.keyChanged);
      if (Date.now() - started > 20000) return waitFailed(T.stillPending);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }

  // ---- the on-screen keyboards ----------------------------------------------------------------
  for (const pad of document.querySelectorAll("[data-keypad]")) {
    const target = pad.dataset.keypad;
    const limit = target === "cpf" ? 11 : 8;
    pad.addEventListener("click", (event) => {
      const key = event.target.closest("button");
      if (!key) return;
      if (key.dataset.digit !== undefined && state[target].length < limit) state[target] += key.dataset.digit;
      if (key.hasAttribute("data-erase")) state[target] = state[target].slice(0, -1);
      render();
      if (key.hasAttribute("data-confirm")) (target === "cpf" ? cpfConfirmed : birthConfirmed)();
    });
  }

  // A physical keyboard works too (a totem with one, and the tests).
  document.addEventListener("keydown", (event) => {
    const step = trail[trail.length - 1];
    const target = step === "step-cpf" ? "cpf" : (step === "step-register" && !$("register-birth").hidden ? "birth" : null);
    if (!target) return;
    const limit = target === "cpf" ? 11 : 8;
    if (/^\d$/.test(event.key) && state[target].length < limit) state[target] += event.key;
    else if (event.key === "Backspace") state[target] = state[target].slice(0, -1);
    else if (event.key === "Enter") (target === "cpf" ? cpfConfirmed : birthConfirmed)();
    else return;
    event.preventDefault();
    render();
  });

  const ROWS = ["QWERTYUIOP", "ASDFGHJKLÇ", "ZXCVBNM", "ÁÉÍÓÚÂÊÔÃÕ"];
  const letters = $("letters");
  letters.innerHTML = ROWS.map((row) => `<div class="letters-row">${[...row]
    .map((c) => `<button type="button" class="letter" data-letter="${c}">${c}</button>`).join("")}</div>`).join("")
    + `<div class="letters-row"><button type="button" class="letter letter-space" data-letter=" ">${window.clinico.esc(T.space)}</button>`
    + `<button type="button" class="letter letter-erase" data-erase>⌫</button></div>`;
  letters.addEventListener("click", (event) => {
    const key = event.target.closest("button");
    if (!key) return;
    const input = $("full-name");
    if (key.hasAttribute("data-erase")) input.value = input.value.slice(0, -1);
    else {
      const atWordStart = !input.value || input.value.endsWith(" ");
      const letter = key.dataset.letter;
      if (letter === " " && atWordStart) return;
      input.value += atWordStart ? letter : letter.toLowerCase();
    }
  });

  $("name-next").addEventListener("click", () => {
    const name = $("full-name").value.trim();
    if (name.length < 3 || !name.includes(" ")) return error("name-error", T.nameMissing);
    error("name-error", "");
    $("register-name").hidden = true;
    $("register-birth").hidden = false;
  });

  for (const button of document.querySelectorAll("[data-service]")) {
    button.addEventListener("click", () => {
      state.service = Number(button.dataset.service);
      show("step-priority");
    });
  }
  for (const button of document.querySelectorAll("[data-reason]")) {
    button.addEventListener("click", () => {
      state.reason = button.dataset.reason;
      submit(null);
    });
  }
  for (const button of document.querySelectorAll("[data-back]")) {
    button.addEventListener("click", () => {
      if (!$("register-birth").hidden) {
        $("register-birth").hidden = true;
        $("register-name").hidden = false;
        return;
      }
      back();
    });
  }
  for (const button of document.querySelectorAll("[data-restart]")) button.addEventListener("click", start);

  // The next patient must never find the last one's CPF on the screen, nor another language.
  function idle() {
    const portuguese = document.querySelector('.lang-form button[value="pt-br"]');
    if (portuguese) portuguese.click();
    else start();
  }

  function touched() {
    clearTimeout(idleTimer);
    idleTimer = setTimeout(idle, IDLE_MS);
  }
  for (const kind of ["click", "keydown", "touchstart"]) document.addEventListener(kind, touched, { passive: true });

  start();
  touched();
})();
