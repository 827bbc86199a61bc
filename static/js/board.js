// The board's small conveniences that need no server: removing a condition row from an open
// editor, Escape to cancel an open form, focus on the first field the server refused, the
// activity panel's toggle (remembered in localStorage) and its relative times; and telling a
// condition row's hint that its value changed, so it asks the server again (a negative chosen or
// typed, "not Paris", is answered with the positive ways to say it).
// Everything else is htmx and server-rendered HTML.

document.addEventListener("htmx:afterSettle", (event) => {
  if (!event.detail.xhr || event.detail.xhr.status !== 422) return;
  const swapped = document.getElementById(event.detail.target.id) || event.detail.target;
  const field = swapped.querySelector("[aria-invalid=true]");
  const message = swapped.querySelector(".field-error");
  if (field) field.focus();
  else if (message) message.scrollIntoView({ block: "nearest" });
});

document.addEventListener("click", (event) => {
  const remove = event.target.closest("[data-remove-condition]");
  if (!remove) return;
  const row = remove.closest(".cond-row");
  const group = row && row.closest(".cond-group");
  const editor = row && row.closest(".cond-editor");
  if (!row) return;
  row.remove();
  // An "or" group without conditions means nothing; drop it too.
  if (group && !group.querySelector(".cond-row")) group.remove();
  // Keep keyboard focus inside the editor rather than losing it to <body>.
  const next = editor && [...editor.querySelectorAll(".cond-row select, .cond-actions button")].find(
    (el) => el.offsetParent !== null,
  );
  if (next) next.focus();
});

// The hint listens for "cond-value-changed" (hx-trigger): htmx's own event filters would need
// eval, which the page's Content-Security-Policy forbids.
function valueChanged(event) {
  const value = event.target.closest && event.target.closest(".cond-value");
  const row = value && value.closest(".cond-row");
  const hint = row && row.querySelector(".cond-hint");
  if (hint) htmx.trigger(hint, "cond-value-changed");
}
document.addEventListener("input", valueChanged);
document.addEventListener("change", valueChanged);

document.addEventListener("keydown", (event) => {
  if (event.key !== "Escape") return;
  const form = event.target.closest && event.target.closest("form.edit-form");
  if (!form) return;
  const cancel = form.querySelector("[data-cancel]");
  if (cancel) cancel.click();
});

// --- The activity panel -------------------------------------------------------------------------

const ACTIVITY_KEY = "blueprint:activity";
const boardPage = document.querySelector(".board-page");
const activityToggle = document.getElementById("activity-toggle");

function showActivity(open) {
  boardPage.classList.toggle("activity-collapsed", !open);
  activityToggle.setAttribute("aria-expanded", String(open));
  activityToggle.title = open ? "Hide the activity panel" : "Show what changed on this board";
}

if (boardPage && activityToggle) {
  let stored = null;
  try {
    stored = localStorage.getItem(ACTIVITY_KEY);
  } catch {
    // storage disabled: the panel starts open
  }
  showActivity(stored !== "closed");
  activityToggle.addEventListener("click", () => {
    const open = boardPage.classList.contains("activity-collapsed");
    showActivity(open);
    try {
      localStorage.setItem(ACTIVITY_KEY, open ? "open" : "closed");
    } catch {
      // remembered for this page only
    }
  });
}

// "3 minutes ago" as the server rendered it goes stale; say it again from the datetime.
const relative = new Intl.RelativeTimeFormat("en", { numeric: "auto" });
const STEPS = [
  [60, "second"],
  [60, "minute"],
  [24, "hour"],
  [7, "day"],
  [4.35, "week"],
  [12, "month"],
  [Infinity, "year"],
];

function ago(date) {
  let amount = (date.getTime() - Date.now()) / 1000;
  if (amount > -45) return "just now";
  for (const [size, unit] of STEPS) {
    if (Math.abs(amount) < size) return relative.format(Math.round(amount), unit);
    amount /= size;
  }
  return "";
}

function refreshTimes() {
  for (const time of document.querySelectorAll("#activity-list time[datetime]")) {
    const date = new Date(time.getAttribute("datetime"));
    if (!Number.isNaN(date.getTime())) time.textContent = ago(date);
  }
}

if (document.getElementById("activity-list")) {
  refreshTimes();
  setInterval(refreshTimes, 30_000);
  document.addEventListener("blueprint:swapped", refreshTimes);
}
