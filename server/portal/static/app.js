// kpilot portal: the little the pages need a script for. No inline
// script: the Content-Security-Policy allows only files from the portal.
(function () {
  "use strict";

  // Invitation and password-reset links carry their token after '#',
  // which browsers never send to a server; move it into the form and out
  // of the address bar.
  function hashToken() {
    var field = document.querySelector("[data-hash-token]");
    if (!field) return;
    var tok = decodeURIComponent((location.hash || "").slice(1));
    if (tok) {
      field.value = tok;
      history.replaceState(null, "", location.pathname);
    } else if (!field.value) {
      document.querySelector("[data-hash-missing]").hidden = false;
    }
  }

  var palette = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#4d7c0f", "#be185d", "#475569", "#b45309", "#0f766e", "#7c3aed"];

  // Charts: the page embeds their data as JSON (times in Unix seconds,
  // one value list per line, values already in the unit the chart names)
  // and uPlot draws them. Numbers are written in the page's language.
  function charts() {
    var el = document.getElementById("chart-data");
    if (!el || typeof uPlot === "undefined") return;
    var list = JSON.parse(el.textContent || "null") || [];
    var nf = new Intl.NumberFormat(document.documentElement.lang || "en", { maximumFractionDigits: 2 });
    var plots = [];
    list.forEach(function (c) {
      var fig = document.getElementById(c.id);
      if (!fig || !c.times || c.times.length === 0) {
        if (fig) fig.classList.add("nodata");
        return;
      }
      var unit = c.unit ? " " + c.unit : "";
      var value = function (u, v) { return v == null ? "–" : nf.format(v) + unit; };
      var series = [{}];
      (c.labels || []).forEach(function (label, i) {
        series.push({ label: label, stroke: palette[i % palette.length], width: 1.5, spanGaps: false, value: value });
      });
      var opts = {
        width: Math.max(280, fig.clientWidth - 8),
        height: 220,
        series: series,
        axes: [{}, { size: 80, values: function (u, splits) { return splits.map(function (v) { return value(u, v); }); } }],
        legend: { live: true },
      };
      var plot = new uPlot(opts, [c.times].concat(c.values), fig);
      plot.root.setAttribute("role", "img");
      plot.root.setAttribute("aria-label", c.title);
      plots.push({ plot: plot, fig: fig });
    });
    var pending;
    window.addEventListener("resize", function () {
      clearTimeout(pending);
      pending = setTimeout(function () {
        plots.forEach(function (p) {
          p.plot.setSize({ width: Math.max(280, p.fig.clientWidth - 8), height: 220 });
        });
      }, 150);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    hashToken();
    charts();
  });
})();
