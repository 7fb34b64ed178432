// Passkeys (WebAuthn) on our own pages: a form with `data-passkey="create"` or `"get"` carries the
// options the server made (its challenge bound to this page's interaction or session) in
// `data-options`; on submit the browser's authenticator answers them and the answer is posted in
// the form's hidden `credential` field. No fetch, no inline script: the CSP allows neither.
"use strict";
(function () {
  function toBytes(text) {
    var b64 = text.replace(/-/g, "+").replace(/_/g, "/");
    var raw = atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4));
    var out = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
    return out.buffer;
  }
  function toText(buffer) {
    if (!buffer) return null;
    var bytes = new Uint8Array(buffer), raw = "";
    for (var i = 0; i < bytes.length; i++) raw += String.fromCharCode(bytes[i]);
    return btoa(raw).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function ids(list) {
    return (list || []).map(function (c) { return Object.assign({}, c, { id: toBytes(c.id) }); });
  }
  function creation(o) {
    o.challenge = toBytes(o.challenge);
    o.user.id = toBytes(o.user.id);
    o.excludeCredentials = ids(o.excludeCredentials);
    return { publicKey: o };
  }
  function request(o) {
    o.challenge = toBytes(o.challenge);
    o.allowCredentials = ids(o.allowCredentials);
    return { publicKey: o };
  }
  function answer(c) {
    var r = c.response, json = {
      id: c.id, rawId: toText(c.rawId), type: c.type,
      authenticatorAttachment: c.authenticatorAttachment || undefined,
      clientExtensionResults: c.getClientExtensionResults(), response: { clientDataJSON: toText(r.clientDataJSON) }
    };
    if (r.attestationObject) {
      json.response.attestationObject = toText(r.attestationObject);
      json.response.transports = r.getTransports ? r.getTransports() : [];
    } else {
      json.response.authenticatorData = toText(r.authenticatorData);
      json.response.signature = toText(r.signature);
      json.response.userHandle = toText(r.userHandle);
    }
    return JSON.stringify(json);
  }
  // A form whose ceremony is one of its buttons (`data-ceremony`, next to an ordinary submit) runs
  // it only when that button is pressed; otherwise any submit runs it.
  document.querySelectorAll("form[data-passkey]").forEach(function (form) {
    var button = form.querySelector("button[data-ceremony]") || form.querySelector("button");
    var only = button.hasAttribute("data-ceremony");
    if (!window.PublicKeyCredential) {
      button.disabled = true;
      var note = form.querySelector("[data-unsupported]");
      if (note) note.hidden = false;
      return;
    }
    form.addEventListener("submit", function (event) {
      if (only && event.submitter !== button) return;
      event.preventDefault();
      var options = JSON.parse(form.dataset.options);
      var asked = form.dataset.passkey === "create"
        ? navigator.credentials.create(creation(options))
        : navigator.credentials.get(request(options));
      button.disabled = true;
      asked.then(function (credential) {
        form.elements.credential.value = answer(credential);
        form.submit();
      }, function () { button.disabled = false; });
    });
  });
})();
