// One-click sign-in: /login#token=… (what `make demo` prints). The fragment never
// reaches the server or its logs; it is moved into the form, wiped from the address
// bar and posted.
(function () {
  "use strict";
  var match = /^#token=([^&]+)/.exec(window.location.hash);
  if (!match) { return; }
  history.replaceState(null, "", window.location.pathname + window.location.search);
  var form = document.getElementById("login-form");
  document.getElementById("token").value = decodeURIComponent(match[1]);
  form.submit();
})();
