// The one way the dashboard talks to the server: the REST API under /api/v1, with the API key.

const KEY_NAME = "kitaru.apiKey";
export const API = "../api/v1";

export function apiKey() {
  return localStorage.getItem(KEY_NAME) || "";
}

export function setApiKey(key) {
  localStorage.setItem(KEY_NAME, key);
}

export function forgetApiKey() {
  localStorage.removeItem(KEY_NAME);
}

/** An error answered by the server: `{"error": {type, message, fields}}`, or a failed request. */
export class ApiError extends Error {
  constructor(status, type, message, fields = {}) {
    super(message);
    this.status = status;
    this.type = type;
    this.fields = fields;
  }
}

/**
 * Call the API: `path` under /api/v1 (e.g. "/executions/summaries"), `query` an object of
 * parameters (null/undefined skipped), `body` sent as JSON. Returns the parsed JSON answer
 * (null for 204). A 401 also fires the window event "kitaru:unauthorized".
 */
export async function api(path, { method = "GET", query = null, body = undefined, signal = undefined } = {}) {
  const url = new URL(API + path, document.baseURI);
  for (const [name, value] of Object.entries(query || {})) {
    if (value !== null && value !== undefined && value !== "") url.searchParams.set(name, value);
  }
  const headers = { Accept: "application/json" };
  const key = apiKey();
  if (key) headers.Authorization = `Bearer ${key}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(url, { method, headers, signal, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (exc) {
    if (exc.name === "AbortError") throw exc;
    throw new ApiError(0, "NetworkError", `The server did not answer (${exc.message}). Is it still running?`);
  }
  if (response.status === 204) return null;
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    const error = (data && data.error) || {};
    if (response.status === 401) window.dispatchEvent(new CustomEvent("kitaru:unauthorized"));
    throw new ApiError(
      response.status,
      error.type || "HTTPError",
      error.message || `${method} ${path} failed with HTTP ${response.status}.`,
      error.fields || {},
    );
  }
  return data;
}

/** The URL of an API path with the key in no URL (for links that the page fetches itself). */
export function apiUrl(path) {
  return new URL(API + path, document.baseURI).toString();
}
