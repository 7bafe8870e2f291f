// The page's form and buttons, wired to the functions of auth.js. After a reload the page holds no token:
// "Refresh" gets a new access token with the refresh cookie, which no script of the page can read.
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
