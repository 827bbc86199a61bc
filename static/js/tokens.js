// The API tokens page: "Copy" puts a new token's secret on the clipboard (the field itself is
// read-only and selected on focus, for copying by hand where the clipboard is not allowed).

document.addEventListener("click", async (event) => {
  const button = event.target.closest && event.target.closest("[data-copy]");
  if (!button) return;
  const field = document.querySelector(button.dataset.copy);
  if (!field) return;
  const said = button.parentElement.querySelector(".token-copied");
  field.select();
  try {
    await navigator.clipboard.writeText(field.value);
    if (said) said.textContent = "Copied.";
  } catch {
    if (said) said.textContent = "Selected: press Ctrl+C (⌘C) to copy.";
  }
});

document.addEventListener("focusin", (event) => {
  if (event.target.matches && event.target.matches(".token-value")) event.target.select();
});
