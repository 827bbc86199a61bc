// Global htmx behaviour for every page: what a failed request does.
//
// A form the server refused comes back as 422 with the form re-rendered beside its errors; htmx
// swaps it like a success. Any other 4xx/5xx, or no answer at all, leaves the page as it was and
// shows a toast in #toasts. Other modules show messages with a "blueprint:toast" event,
// {message, kind}: kind "error" (the default) for a failure, "info" for a calm notice.

const htmx = window.htmx;
const TOAST_MS = 7000;

if (htmx) {
  htmx.config.responseHandling = [
    { code: "204", swap: false },
    { code: "[23]..", swap: true },
    { code: "422", swap: true, error: false },
    { code: "[45]..", swap: false, error: true },
  ];

  // While settling a swap htmx copies some attributes from the old element to its replacement;
  // copying "style" (which SortableJS sets through the CSSOM while dragging) is an inline style
  // the CSP refuses, so leave it out.
  htmx.config.attributesToSettle = ["class", "width", "height"];

  // In DEBUG, django-htmx's helper replaces the whole document with the body of a 400/403/404/500
  // answer. Here a refusal is a toast and the board stays: keep that event from reaching it.
  window.addEventListener(
    "htmx:beforeOnLoad",
    (event) => {
      const status = event.detail.xhr ? event.detail.xhr.status : 0;
      if (status >= 400 && status !== 422) event.stopImmediatePropagation();
    },
    true,
  );

  document.addEventListener("htmx:responseError", (event) => {
    toast(messageFrom(event.detail.xhr));
  });
  document.addEventListener("htmx:sendError", (event) => {
    // a board form that live.js keeps and sends again says so inside the form instead
    if (event.detail && event.detail.retryLater) return;
    toast("Could not reach the server. Check the connection and try again.");
  });
  document.addEventListener("htmx:timeout", () => {
    toast("The server took too long to answer. Try again.");
  });
  document.addEventListener("htmx:swapError", () => {
    toast("The page could not show the server's answer. Reload the page.");
  });
}

document.addEventListener("blueprint:toast", (event) => {
  const detail = event.detail || {};
  toast(detail.message || "Something went wrong.", detail.kind);
});

function messageFrom(xhr) {
  const type = xhr.getResponseHeader("Content-Type") || "";
  const text = (xhr.responseText || "").trim();
  if (type.startsWith("text/plain") && text) return text.slice(0, 400);
  if (type.includes("json") && text) {
    try {
      const body = JSON.parse(text);
      if (body.detail) return String(body.detail).slice(0, 400);
    } catch {
      // fall through to the status line
    }
  }
  if (xhr.status === 403) return "You are not allowed to do that.";
  if (xhr.status === 404) return "That is no longer there; it may have been deleted. Reload the page.";
  if (xhr.status >= 500) return `The server had a problem (${xhr.status}). Your change was not saved.`;
  return `The request failed (${xhr.status}).`;
}

export function toast(message, kind = "error") {
  const box = document.getElementById("toasts");
  if (!box) return;
  const info = kind === "info";
  const item = document.createElement("div");
  item.className = info ? "toast toast-info" : "toast toast-error";
  // a notice is said when the reader is free; a failure interrupts
  item.setAttribute("role", info ? "status" : "alert");
  const text = document.createElement("span");
  text.textContent = message;
  const close = document.createElement("button");
  close.type = "button";
  close.className = "toast-close";
  close.setAttribute("aria-label", "Dismiss");
  close.textContent = "×";
  close.addEventListener("click", () => item.remove());
  item.append(text, close);
  box.append(item);
  setTimeout(() => item.remove(), TOAST_MS);
}
