// The frame a plugin page's preview is drawn in (/admin/preview). The console page embeds it
// sandboxed (scripts, but an origin of its own) and posts it the HTML to show; it puts that
// HTML into a nested frame sandboxed with nothing allowed, so no script of it ever runs.
// The nested frame inherits this page's policy, which lets the HTML's inline styles apply:
// the console's own policy would not.
"use strict";

window.addEventListener("message", (event) => {
  const data = event.data;
  if (event.source !== window.parent || !data || typeof data.html !== "string") return;
  let frame = document.querySelector("iframe");
  if (!frame) {
    frame = document.createElement("iframe");
    frame.setAttribute("sandbox", "");
    frame.title = typeof data.title === "string" ? data.title : "Preview";
    document.body.append(frame);
  }
  frame.srcdoc = data.html;
});

window.parent.postMessage({ previewReady: true }, "*");
