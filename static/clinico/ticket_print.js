// The printable ticket: at the totem it prints as it opens (Chromium's --kiosk-printing prints
// without a dialog) and the totem returns to its first screen; staff press "Print".
"use strict";

(function () {
  const autoprint = JSON.parse(document.getElementById("ticket-autoprint").textContent);
  document.getElementById("print-again").addEventListener("click", () => window.print());
  if (!autoprint) return;
  const done = document.getElementById("ticket-done");
  window.addEventListener("load", () => {
    window.print();
    // Long enough to read the code on screen and take the paper; the next patient starts fresh.
    setTimeout(() => window.location.assign(done.href), 20000);
  });
})();
