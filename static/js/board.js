// The board's small conveniences that need no server: removing a condition row from an open
// editor, and Escape to cancel an open form. Everything else is htmx and server-rendered HTML.

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
  const next = editor && editor.querySelector(".cond-row select, .cond-actions button:not([hidden])");
  if (next) next.focus();
});

document.addEventListener("keydown", (event) => {
  if (event.key !== "Escape") return;
  const form = event.target.closest && event.target.closest("form.edit-form");
  if (!form) return;
  const cancel = form.querySelector("[data-cancel]");
  if (cancel) cancel.click();
});
