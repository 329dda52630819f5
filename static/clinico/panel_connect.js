// The panel's sign-in page: a console link ends in "#key=…". Browsers never send a URL's
// fragment, so the key reaches the server only in this form's body, once; the answer is the
// TV's panel cookie and the panel itself.
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
    const form = document.getElementById("panel-key-form");
    form.elements.key.value = key;
    document.getElementById("panel-refusal").hidden = true;
    document.getElementById("panel-connecting").hidden = false;
    form.submit();
  }

  // A link opened on a TV already at /panel/ changes only the fragment: no page load.
  window.addEventListener("hashchange", connect);
  connect();
})();
