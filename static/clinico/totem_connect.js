// The totem's sign-in page: a console link ends in "#key=…". Browsers never send a URL's
// fragment, so the key reaches the server only in this form's body, once; the answer is the
// totem's cookie and the totem itself.
"use strict";

(function () {
  function connect() {
    const match = /(?:^#|&)key=([^&]+)/.exec(location.hash);
    if (!match) return;
    // The key leaves the address bar and the history before anything else happens.
    history.replaceState(null, "", location.pathname);
    let key;
    try {
      key = decodeURIComponent(match[1]);
    } catch (error) {
      return;
    }
    const form = document.getElementById("totem-key-form");
    form.elements.key.value = key;
    document.getElementById("totem-refusal").hidden = true;
    document.getElementById("totem-connecting").hidden = false;
    form.submit();
  }

  // A link opened on a totem already at /totem/ changes only the fragment: no page load.
  window.addEventListener("hashchange", connect);
  connect();
})();
