// The board's small conveniences that need no server: removing a condition row from an open
// editor, Escape to cancel an open form, and focus on the first field the server refused.
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

document.addEventListener("keydown", (event) => {
  if (event.key !== "Escape") return;
  const form = event.target.closest && event.target.closest("form.edit-form");
  if (!form) return;
  const cancel = form.querySelector("[data-cancel]");
  if (cancel) cancel.click();
});
