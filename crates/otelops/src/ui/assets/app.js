// otelops web view: the only script. Pages work without it; it adds two
// things a server-rendered page cannot do by itself.
"use strict";

// 1. Live trace list: traces keep arriving while the page is open. Poll the
//    server-rendered rows for the same filters and swap them in when they
//    changed, so new traces appear without a reload (and without losing
//    the form the user is typing in).
function liveRows() {
  const rows = document.getElementById("rows");
  if (!rows) return;
  const count = document.getElementById("count");
  let last = rows.innerHTML;
  setInterval(async () => {
    let html;
    try {
      const response = await fetch(rows.dataset.src, { cache: "no-store" });
      if (!response.ok) return;
      html = await response.text();
    } catch (_) {
      return; // receiver stopped: keep the last list
    }
    if (html === last) return;
    last = html;
    rows.innerHTML = html;
    const n = rows.querySelectorAll("tr.trace").length;
    count.textContent = n === 1 ? "1 trace" : n + " traces";
  }, 2000);
}

// 2. Copy buttons (the traceparent): one click instead of selecting the
//    text; without clipboard access the text is selected for Ctrl+C.
function copyButtons() {
  for (const button of document.querySelectorAll("button[data-copy]")) {
    button.addEventListener("click", async () => {
      const input = document.getElementById(button.dataset.copy);
      try {
        await navigator.clipboard.writeText(input.value);
        button.textContent = "Copied";
      } catch (_) {
        input.select();
        button.textContent = "Press Ctrl+C";
      }
    });
  }
}

liveRows();
copyButtons();
