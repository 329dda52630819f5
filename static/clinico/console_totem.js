// The console's totem card (clinic admins): the totem's link, a new key, what the totem does
// with a new CPF and the ticket paper width, saved as they change.
"use strict";

(function () {
  const { $, pageConfig, api, fmt } = window.clinico;
  const T = pageConfig("console-config").strings;

  function say(message, kind) {
    const box = $("flash");
    box.textContent = message;
    box.className = "flash flash-" + kind;
    box.setAttribute("role", kind === "error" ? "alert" : "status");
    box.hidden = false;
  }

  function failure(answer) {
    if (answer.status === 0) return T.networkError;
    const errors = answer.data && answer.data.errors;
    if (errors && errors.length) return errors.map((e) => e.detail).join(" ");
    return fmt(T.genericError, { status: answer.status });
  }

  $("rotate-totem-key").addEventListener("click", async (event) => {
    if (!window.confirm(T.totemRotateConfirm)) return;
    event.target.disabled = true;
    const answer = await api("POST", "/api/v1/totem/key/rotate/");
    event.target.disabled = false;
    if (!answer.ok) return say(failure(answer), "error");
    $("totem-link").value = answer.data.totem_url;
    $("open-totem-link").href = answer.data.totem_url;
    say(T.totemKeyRotated, "success");
  });

  $("totem-settings").addEventListener("change", async (event) => {
    const field = event.target;
    const value = field.name === "ticket_paper_mm" ? Number(field.value) : field.value;
    const answer = await api("PATCH", "/api/v1/totem/settings/", { [field.name]: value });
    say(answer.ok ? T.totemSettingsSaved : failure(answer), answer.ok ? "success" : "error");
  });
})();
