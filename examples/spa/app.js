// The page's forms and buttons, wired to the functions of auth.js. After a reload the page holds no token:
// "Refresh" gets a new access token with the refresh cookie, which no script of the page can read.
// "Connect" starts connecting a third-party account (/api/connections/): the browser goes to the provider,
// and the service's callback page sends it back here with ?connected=<provider> or ?connection_error=<code>.
const out = document.getElementById("out");
const show = (title, value) => { out.textContent = `${title}\n${JSON.stringify(value, null, 2)}`; };
const shortened = token => (token ? `${token.slice(0, 16)}…` : null);
const run = (title, action) => async () => {
  try {
    show(title, await action());
  } catch (error) {
    show(`${title}: failed`, { error: error.message });
  }
};

document.getElementById("auth").textContent = AUTH;
document.getElementById("login").addEventListener("submit", event => {
  event.preventDefault();
  const form = new FormData(event.target);
  run("Signed in", async () => {
    await login(form.get("email"), form.get("password"));
    return { access: shortened(access) };
  })();
});
document.getElementById("refresh").addEventListener("click", run("Refresh", async () => {
  const signedIn = await refresh();
  return { signed_in: signedIn, access: shortened(access) };
}));
document.getElementById("me").addEventListener("click", run("Who am I?", me));
document.getElementById("logout").addEventListener("click", run("Signed out", async () => {
  await logout();
  return { access };
}));

const CONNECTIONS = AUTH.replace(/auth\/$/, "connections/");
async function connections(path, { method = "GET" } = {}) {
  const response = await fetch(CONNECTIONS + path, { method, credentials: "include",
    headers: { Authorization: `Bearer ${access}` } });
  if (!response.ok) throw new Error(`${path}: ${response.status}`);
  return response.status === 204 ? null : response.json();
}
const provider = () => document.querySelector("#connect input[name=provider]").value;
document.getElementById("connect").addEventListener("submit", event => {
  event.preventDefault();
  // The call sets the cookie that ties the attempt to this browser; the callback completes only with it.
  run("Connect", async () => {
    const started = await connections(`${provider()}/connect/`, { method: "POST" });
    location.assign(started.authorization_url);
    return started;
  })();
});
document.getElementById("connections").addEventListener("click", run("My connections", () => connections("")));
document.getElementById("disconnect").addEventListener("click", run("Disconnected", async () => {
  await connections(`${provider()}/`, { method: "DELETE" });
  return connections("");
}));
const back = new URLSearchParams(location.search);
if (back.has("connected") || back.has("connection_error")) {
  show("Back from the provider (press Refresh, then My connections)",
       { connected: back.get("connected"), connection_error: back.get("connection_error") });
}
