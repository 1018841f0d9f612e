// The REST API: JSON in and out, the session cookie, and the CSRF token (from /api/me) on
// every change. A 401 anywhere means the session ended: back to the sign-in page.

let csrfToken = null;

export class APIError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export async function api(path, { method = "GET", body, query } = {}) {
  const url = new URL(path, location.origin);
  for (const [key, value] of Object.entries(query ?? {})) if (value !== undefined && value !== null && value !== "") url.searchParams.set(key, value);
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && csrfToken) headers["X-CSRF-Token"] = csrfToken;
  const response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: "same-origin" });
  if (response.status === 401 && path !== "/api/me") {
    location.assign("/sign-in");
    throw new APIError(401, "unauthorized", "Signed out.");
  }
  if (response.status === 204) return null;
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) throw new APIError(response.status, answer.error?.code ?? "http_" + response.status, answer.error?.message ?? response.statusText);
  return answer;
}

/** The signed-in user, or null. Keeps the CSRF token for later requests. */
export async function me() {
  try {
    const answer = await api("/api/me");
    csrfToken = answer.csrfToken;
    return answer.user;
  } catch (error) {
    if (error.status === 401) return null;
    throw error;
  }
}

let routes = null;

/** Whether the server has a route (`"PUT /api/conversations/{id}/assignee"`), from its
 *  OpenAPI document: screens offer what the server can do, and never call what it lacks. */
export async function hasRoute(operation) {
  routes ??= api("/api/openapi.json").then((doc) => {
    const set = new Set();
    for (const [path, item] of Object.entries(doc.paths ?? {})) for (const method of Object.keys(item)) set.add(`${method.toUpperCase()} ${path}`);
    return set;
  }).catch(() => new Set());
  return (await routes).has(operation);
}
