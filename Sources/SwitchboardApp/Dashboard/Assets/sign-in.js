// The sign-in page: asks for a link by e-mail. Already signed in: straight to the inbox.
import { api, me } from "./api.js";
import { h, replace } from "./dom.js";

const form = document.getElementById("sign-in-form");
const result = document.getElementById("sign-in-result");

if (await me()) location.replace("/");

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const button = form.querySelector("button");
  button.disabled = true;
  try {
    const answer = await api("/api/auth/sign-in", { method: "POST", body: { email: form.email.value } });
    replace(result, answer.message);
    if (answer.devLink) result.append(" ", h("a", { href: answer.devLink, text: "Open the link (development only)" }));
    result.className = "ok";
  } catch (error) {
    replace(result, error.message);
    result.className = "error";
  } finally {
    button.disabled = false;
  }
});
