// The simulator page: clear the profile, copy it as JSON, and bring the answer into view.
//
// The form and the answer are one server-rendered fragment (#simulator) that htmx swaps; this module
// only listens at the document, so it keeps working across swaps.

import { announce } from "./announce.js";

document.addEventListener("click", (event) => {
  const target = event.target instanceof Element ? event.target : null;
  if (!target) return;
  if (target.id === "sim-clear") {
    const form = document.getElementById("sim-form");
    for (const input of form.querySelectorAll("input[name^='p-'], select[name^='p-']")) {
      if (input.type === "checkbox") input.checked = false;
      else if (input.type === "radio") input.checked = input.value === "";
      else input.value = "";
    }
    form.querySelector("input[name^='p-'], select[name^='p-']")?.focus();
    return;
  }
  const copy = target.closest("[data-copy]");
  if (copy && copy.closest("#simulator")) {
    navigator.clipboard?.writeText(copy.dataset.copy).then(
      () => announce("Profile copied as JSON"),
      () => announce("Could not copy: the browser refused"),
    );
  }
});

document.addEventListener("htmx:afterSwap", (event) => {
  const result = document.getElementById("sim-result");
  if (!result || !event.detail.target || event.detail.target.id !== "simulator") return;
  const answers = document.getElementById("sim-answers");
  announce(answers ? answers.textContent.replace(/\s+/g, " ").trim() : "In no stage");
  result.scrollIntoView({ block: "start", behavior: "smooth" });
});
