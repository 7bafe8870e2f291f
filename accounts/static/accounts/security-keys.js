// Security keys and passkeys on the account pages: the one script of the pages, served from this site (the CSP
// allows no other). It only drives the browser's WebAuthn API; the server checks everything.
//
// A form marked data-webauthn="create" or "get" asks its data-options-url (POST, with the form's CSRF token) for
// the options, runs navigator.credentials.create() or .get(), puts the answer as JSON into the form's input named
// by data-answer-field, and submits the form. data-webauthn="conditional" does the same for a passkey chosen from
// the browser's autofill (the sign-in page's address field has autocomplete="username webauthn"), without a click.
// Without WebAuthn (an old browser, no script) the forms stay hidden and the pages work without them.
(function () {
  "use strict";
  if (!window.PublicKeyCredential || !PublicKeyCredential.parseRequestOptionsFromJSON) {
    return;
  }

  function csrfToken(form) {
    var input = form.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function fetchOptions(form) {
    var body = new FormData();
    var kind = form.querySelector("[name=kind]");
    if (kind) {
      body.append("kind", kind.value);
    }
    return fetch(form.dataset.optionsUrl, {
      method: "POST", body: body, credentials: "same-origin",
      headers: {"X-CSRFToken": csrfToken(form)}
    }).then(function (response) {
      if (response.status === 403 && form.dataset.confirmUrl) {
        // The change asks for a recent proof first: to the confirmation page, which comes back here.
        window.location.assign(form.dataset.confirmUrl);
        return new Promise(function () {});
      }
      if (!response.ok) {
        throw new Error("options refused");
      }
      return response.json();
    });
  }

  function run(form, mediation, signal) {
    return fetchOptions(form).then(function (options) {
      if (form.dataset.webauthn === "create") {
        return navigator.credentials.create({publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options)});
      }
      var request = {publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options)};
      if (mediation) {
        request.mediation = mediation;
        request.signal = signal;
      }
      return navigator.credentials.get(request);
    }).then(function (credential) {
      if (signal && signal.aborted) {
        return;  // the autofill's request was given up for the button's: only one of them signs in
      }
      form.querySelector("[name=" + form.dataset.answerField + "]").value = JSON.stringify(credential.toJSON());
      form.submit();
    });
  }

  function showProblem(form) {
    var problem = form.querySelector(".webauthn-problem");
    if (problem) {
      problem.hidden = false;
      problem.focus();
    }
  }

  var conditional = null;
  document.querySelectorAll("form[data-webauthn]").forEach(function (form) {
    form.hidden = false;
    if (form.dataset.webauthn === "conditional") {
      PublicKeyCredential.isConditionalMediationAvailable().then(function (available) {
        if (available) {
          conditional = new AbortController();
          run(form, "conditional", conditional.signal).catch(function () {});
        }
      });
      return;
    }
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (conditional) {
        conditional.abort();  // one WebAuthn request at a time
        conditional = null;
      }
      run(form).catch(function () { showProblem(form); });
    });
  });
})();
