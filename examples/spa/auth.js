// The session handling of a single-page app with the cookie transport: the code docs/how-to/spa.md shows
// (a test keeps the two the same). AUTH is the auth service's /api/auth/ URL.
let access = null, csrf = null;
async function call(path, { method = "GET", body, headers = {} } = {}) {
  const response = await fetch(AUTH + path, { method, credentials: "include", body,
    headers: { "Content-Type": "application/json", ...(csrf ? { "X-CSRFToken": csrf } : {}), ...headers } });
  if (!response.ok) throw Object.assign(new Error(`${path}: ${response.status}`), { status: response.status });
  return response.status === 204 ? null : response.json();
}
async function login(email, password) {
  const body = JSON.stringify({ email, password, transport: "cookie", device_name: "Web app" });
  ({ access, csrf_token: csrf } = await call("login/", { method: "POST", body }));
}
async function refresh() {  // at page load, and before `access` expires (`expires_in` seconds)
  if (!csrf) csrf = (await call("csrf/")).csrf_token;
  try {
    ({ access } = await call("cookie/refresh/", { method: "POST", body: "{}" }));
    return true;
  } catch (error) {
    if (error.status !== 401) throw error;
    access = null;  // no live session (no cookie, or it was ended): signed out
    return false;
  }
}
const me = () => call("me/", { headers: { Authorization: `Bearer ${access}` } });
async function logout() {
  await call("cookie/logout/", { method: "POST", body: "{}" });
  access = null;
}
