// The sign-in page of a screen opened by a key (the TV panel, the totem): the admin's link ends
// in "#key=…". Browsers never send a URL's fragment, so the key reaches the server only in this
// form's body, once; the answer is the screen's cookie and the screen itself. The script tag's
// `data-screen` names the page's elements: `<screen>-key-form`, `-refusal`, `-connecting`.
"use strict";

(function () {
  const screen = document.currentScript.dataset.screen;

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
    const form = document.getElementById(`${screen}-key-form`);
    form.elements.key.value = key;
    document.getElementById(`${screen}-refusal`).hidden = true;
    document.getElementById(`${screen}-connecting`).hidden = false;
    form.submit();
  }

  // A link opened on a screen already at its page changes only the fragment: no page load.
  window.addEventListener("hashchange", connect);
  connect();
})();
