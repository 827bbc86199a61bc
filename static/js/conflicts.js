// An edit form open while someone else saves what it edits. live.js keeps the hidden card (or stage
// head) under an open form current and says so (`blueprint:redrawn`); this module asks the server
// for the form as it would open now and compares the two forms' `orig` (the payload each showed,
// blueprint/forms.py) field by field. Each field that differs is marked where it stands — "Changed
// by Ana: 'Gold card plus'" — with "Use theirs", and the form offers to take every new value. What
// the person typed is never replaced unless they ask: a field taken is the server's own rendering
// of it, and the form's `orig` moves on for that field only, so saving later sends what the person
// kept and leaves what they took (last writer wins per field).
//
// Generic over the form's fields: a field is found by its name (`[name=…]` inside a `.field`, or a
// container marked `data-field=…`, as the condition editor is), so a new field of the payload is
// covered without a change here.

const htmx = window.htmx;
const page = document.querySelector(".board-page");
const QUOTE_CHARS = 80;
const latest = new WeakMap(); // form → the number of its newest check (older answers are dropped)
const freshBoxes = new WeakMap(); // a marked field → the server's rendering of its new value

document.addEventListener("blueprint:redrawn", (event) => {
  const { form, actor } = event.detail || {};
  if (form) check(form, actor);
});

async function check(layer, actor) {
  const url = layer.dataset.formUrl;
  if (!url || "deleting" in layer.dataset) return;
  const number = (latest.get(layer) || 0) + 1;
  latest.set(layer, number);
  let html;
  try {
    const response = await fetch(url, { headers: { "HX-Request": "true" } });
    if (!response.ok) return; // gone (deleted: live.js says so) or not allowed any more
    html = await response.text();
  } catch {
    return; // offline: the next frame checks again
  }
  if (!layer.isConnected || latest.get(layer) !== number || "deleting" in layer.dataset) return;
  const template = document.createElement("template");
  template.innerHTML = html.trim();
  const fresh = template.content.firstElementChild;
  if (!fresh || fresh.id !== layer.id) return;
  compare(layer, fresh, actor);
}

function shownOf(root) {
  const input = root.querySelector('input[name="orig"]');
  if (!input) return null;
  try {
    const shown = JSON.parse(input.value);
    return shown && typeof shown === "object" ? shown : null;
  } catch {
    return null;
  }
}

function compare(layer, fresh, actor) {
  const mine = shownOf(layer);
  const theirs = shownOf(fresh);
  if (!mine || !theirs) return;
  const who = whoChanged(actor);
  let marked = 0;
  for (const name of new Set([...Object.keys(mine), ...Object.keys(theirs)])) {
    const box = fieldBox(layer, name);
    const same = JSON.stringify(mine[name]) === JSON.stringify(theirs[name]);
    if (same) {
      if (box) unmark(box);
      continue;
    }
    const freshBox = fieldBox(fresh, name);
    if (!box || !freshBox) continue;
    mark(layer, box, freshBox, name, theirs[name], who);
    marked += 1;
  }
  notice(layer, marked, who);
}

function whoChanged(actor) {
  if (!actor || !actor.name) return "someone";
  if (page && String(actor.id) === page.dataset.user) return "you, elsewhere";
  return actor.name;
}

// Where a field stands in a form: its container marked `data-field`, or the `.field` around the
// input of that name.
function fieldBox(root, name) {
  const escaped = CSS.escape(name);
  const box = root.querySelector(`[data-field="${escaped}"]`);
  if (box) return box;
  const input = root.querySelector(`[name="${escaped}"]`);
  if (!input) return null;
  return input.closest(".field") || input.parentElement;
}

// The new value in words, from the server's rendering of the field: a text as typed, a choice by
// its label, a box ticked or not; a field of many inputs (the conditions) is not quoted.
function valueInWords(freshBox, name) {
  const inputs = [...freshBox.querySelectorAll("input, select, textarea")].filter(
    (el) => el.name === name && el.type !== "hidden",
  );
  if (inputs.length !== 1) return null;
  const input = inputs[0];
  if (input.type === "checkbox") return input.checked ? "yes" : "no";
  let text = input.tagName === "SELECT" ? (input.selectedOptions[0] || {}).textContent || "" : input.value;
  text = text.trim();
  if (!text) return "empty";
  return `“${text.length > QUOTE_CHARS ? `${text.slice(0, QUOTE_CHARS - 1)}…` : text}”`;
}

function mark(layer, box, freshBox, name, value, who) {
  const wanted = JSON.stringify(value);
  let note = box.querySelector(":scope > .field-changed");
  if (note && note.dataset.theirs === wanted) return; // marked already for this very value
  if (!note) {
    note = document.createElement("p");
    note.className = "field-changed";
    note.setAttribute("role", "status");
    box.append(note);
  }
  box.classList.add("is-changed");
  note.dataset.theirs = wanted;
  note.textContent = "";
  const words = valueInWords(freshBox, name);
  note.append(`Changed by ${who}${words ? `: ${words}` : ""} — `);
  const button = document.createElement("button");
  button.type = "button";
  button.className = "btn btn-small btn-quiet field-use-theirs";
  button.textContent = "Use theirs";
  button.addEventListener("click", () => useTheirs(layer, name, freshBox, value));
  note.append(button);
  freshBoxes.set(box, { freshBox, value });
}

function unmark(box) {
  box.classList.remove("is-changed");
  const note = box.querySelector(":scope > .field-changed");
  if (note) note.remove();
  freshBoxes.delete(box);
}

// The field as the server renders it now takes the place of the person's; the form's `orig` takes
// its new value, so saving does not send it back as a change of theirs.
function useTheirs(layer, name, freshBox, value) {
  const box = fieldBox(layer, name);
  if (!box || !layer.isConnected) return;
  const taken = freshBox.cloneNode(true);
  box.replaceWith(taken);
  const orig = layer.querySelector('input[name="orig"]');
  const shown = shownOf(layer);
  if (orig && shown) {
    shown[name] = value;
    orig.value = JSON.stringify(shown);
  }
  if (htmx) htmx.process(taken);
  const first = taken.querySelector("input:not([type=hidden]), select, textarea");
  if (first) first.focus({ preventScroll: true });
  notice(layer, layer.querySelectorAll(".field-changed").length, null);
}

function notice(layer, marked, who) {
  const form = layer.querySelector("form") || layer;
  let note = form.querySelector(":scope > .form-changed");
  if (!marked) {
    if (note) note.remove();
    return;
  }
  if (note && !who) return; // a field taken: the rest stay marked, and the notice as it was
  if (!note) {
    note = document.createElement("div");
    note.className = "form-changed";
    note.setAttribute("role", "alert");
    const title = form.querySelector(":scope > .form-title");
    if (title) title.after(note);
    else form.prepend(note);
  }
  note.textContent = "";
  const text = document.createElement("p");
  text.textContent = who
    ? `Saved by ${who} while you were editing: the marked fields are different now.`
    : "The marked fields were changed while you were editing.";
  const all = document.createElement("button");
  all.type = "button";
  all.className = "btn btn-small form-use-theirs";
  all.textContent = "Take all the new values";
  all.addEventListener("click", () => {
    for (const box of [...layer.querySelectorAll(".is-changed")]) {
      const kept = freshBoxes.get(box);
      const name = nameOf(layer, box);
      if (kept && name) useTheirs(layer, name, kept.freshBox, kept.value);
    }
  });
  note.append(text, all);
}

function nameOf(layer, box) {
  if (box.dataset.field) return box.dataset.field;
  const shown = shownOf(layer) || {};
  return Object.keys(shown).find((name) => fieldBox(layer, name) === box) || null;
}
