// Hover details for the plotted trials: each point group names its study and its trial ids in drawing order.
(function () {
  "use strict";
  var blob = document.getElementById("catx-trials");
  var trials = blob ? JSON.parse(blob.textContent) : {};
  var tip = document.getElementById("tip");
  function show(ev, text) {
    tip.textContent = text;
    tip.hidden = false;
    var x = ev.clientX + 14, y = ev.clientY + 14;
    if (x + tip.offsetWidth > window.innerWidth) { x = ev.clientX - tip.offsetWidth - 10; }
    if (y + tip.offsetHeight > window.innerHeight) { y = ev.clientY - tip.offsetHeight - 10; }
    tip.style.left = Math.max(0, x) + "px";
    tip.style.top = Math.max(0, y) + "px";
  }
  document.querySelectorAll("g.pts").forEach(function (g) {
    var ids = (g.getAttribute("data-trials") || "").split(",");
    var table = trials[g.getAttribute("data-study")] || {};
    g.querySelectorAll("use").forEach(function (pt, i) {
      var text = table[ids[i]];
      if (!text) { return; }
      pt.setAttribute("data-trial", ids[i]);
      pt.addEventListener("mouseenter", function (ev) { pt.classList.add("hot"); show(ev, text); });
      pt.addEventListener("mousemove", function (ev) { show(ev, text); });
      pt.addEventListener("mouseleave", function () { pt.classList.remove("hot"); tip.hidden = true; });
    });
  });
  document.documentElement.setAttribute("data-ready", "1");
})();
