// The blueprint diagram page: zoom and pan the inline SVG with @panzoom/panzoom (from npm,
// served by staticfiles; its URL is the page's data-panzoom-url). Drag to pan, wheel or the
// buttons (and +, −, 0 on the keyboard) to zoom; "Fit" shows the whole diagram. Printing ignores
// all of this (static/css/exports.css prints the SVG whole on A3 landscape).
const page = document.querySelector(".diagram-page");
const viewport = document.getElementById("diagram-viewport");
const canvas = document.getElementById("diagram-canvas");
const svg = canvas ? canvas.querySelector("svg") : null;

async function start() {
  if (!page || !viewport || !canvas || !svg) return;
  const { default: Panzoom } = await import(page.dataset.panzoomUrl);
  // the SVG keeps its natural size (dot's points); panzoom scales the canvas around it
  const width = svg.viewBox.baseVal.width || svg.getBBox().width;
  const height = svg.viewBox.baseVal.height || svg.getBBox().height;
  svg.setAttribute("width", String(width));
  svg.setAttribute("height", String(height));
  const panzoom = Panzoom(canvas, { maxScale: 4, minScale: 0.02, step: 0.2, canvas: true, origin: "0 0" });

  function fit() {
    const scale = Math.min(viewport.clientWidth / width, viewport.clientHeight / height, 1);
    panzoom.zoom(scale, { animate: false, force: true });
    // with origin 0 0, panning is in unscaled pixels: centre the diagram in the viewport
    const x = (viewport.clientWidth / scale - width) / 2;
    setTimeout(() => panzoom.pan(Math.max(x, 0), 0, { animate: false, force: true }));
  }

  viewport.addEventListener("wheel", (event) => {
    if (!event.ctrlKey && !event.metaKey && Math.abs(event.deltaX) > Math.abs(event.deltaY)) return;
    panzoom.zoomWithWheel(event);
  }, { passive: false });
  document.querySelectorAll("[data-zoom]").forEach((button) => {
    button.addEventListener("click", () => {
      const what = button.dataset.zoom;
      if (what === "in") panzoom.zoomIn();
      else if (what === "out") panzoom.zoomOut();
      else fit();
    });
  });
  viewport.addEventListener("keydown", (event) => {
    if (event.key === "+" || event.key === "=") panzoom.zoomIn();
    else if (event.key === "-") panzoom.zoomOut();
    else if (event.key === "0") fit();
    else return;
    event.preventDefault();
  });
  fit();
  page.dataset.ready = "true";
}

start();
