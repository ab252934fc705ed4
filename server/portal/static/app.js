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
  var lineColours = { warning: "#d97706", critical: "#b91c1c" };

  // axisSize fits a y-axis to its widest label, so "1,000,000" is not
  // cut to "000,000".
  function axisSize(self, values, axisIdx, cycleNum) {
    var axis = self.axes[axisIdx];
    if (cycleNum > 1) return axis._size;
    var size = axis.ticks.size + axis.gap;
    var longest = (values || []).reduce(function (a, v) { return v.length > a.length ? v : a; }, "");
    if (longest !== "") {
      self.ctx.font = axis.font[0];
      size += self.ctx.measureText(longest).width / (window.devicePixelRatio || 1);
    }
    return Math.ceil(size) + 4;
  }

  // Charts: the page embeds their data as JSON (times in Unix seconds,
  // one value list per line, values already in the unit the chart names,
  // the chosen range and the threshold lines) and uPlot draws them.
  // Numbers are written in the page's language.
  function charts() {
    var el = document.getElementById("chart-data");
    if (!el || typeof uPlot === "undefined") return;
    var list = JSON.parse(el.textContent || "null") || [];
    var lang = document.documentElement.lang || "en";
    var nf = new Intl.NumberFormat(lang, { maximumFractionDigits: 2 });
    // Dates in the page's language, in UTC like the rest of the page.
    var day = new Intl.DateTimeFormat(lang, { day: "2-digit", month: "2-digit", timeZone: "UTC" });
    var hour = new Intl.DateTimeFormat(lang, { hour: "2-digit", minute: "2-digit", timeZone: "UTC" });
    var full = new Intl.DateTimeFormat(lang, { day: "2-digit", month: "2-digit", year: "numeric", hour: "2-digit", minute: "2-digit", timeZone: "UTC" });
    var timeTicks = function (u, splits, ax, space, incr) {
      return splits.map(function (v) {
        var d = new Date(v * 1000);
        if (incr >= 86400) return day.format(d);
        return d.getUTCHours() === 0 && d.getUTCMinutes() === 0 ? day.format(d) + "\n" + hour.format(d) : hour.format(d);
      });
    };
    var plots = [];
    list.forEach(function (c) {
      var fig = document.getElementById(c.id);
      if (!fig || !c.times || c.times.length === 0) {
        if (fig) fig.classList.add("nodata");
        return;
      }
      var unit = c.unit ? " " + c.unit : "";
      var value = function (u, v) { return v == null ? "–" : nf.format(v) + unit; };
      // The x-axis spans the chosen range: a chart of one point is a
      // day wide, not years.
      var times = c.times.slice(), values = c.values.map(function (v) { return v.slice(); });
      if (c.from && c.from < times[0]) {
        times.unshift(c.from);
        values.forEach(function (v) { v.unshift(null); });
      }
      if (c.to && c.to > times[times.length - 1]) {
        times.push(c.to);
        values.forEach(function (v) { v.push(null); });
      }
      var series = [{ value: function (u, v) { return v == null ? "–" : full.format(new Date(v * 1000)) + " UTC"; } }];
      (c.labels || []).forEach(function (label, i) {
        series.push({ label: label, stroke: palette[i % palette.length], width: 1.5, spanGaps: false, value: value,
          points: { show: c.times.length < 3 ? true : undefined } });
      });
      (c.lines || []).forEach(function (l) {
        series.push({ label: l.label + " " + nf.format(l.value) + unit, stroke: lineColours[l.severity] || "#6b7280", width: 1, dash: [6, 4],
          value: function () { return nf.format(l.value) + unit; }, points: { show: false } });
        values.push(times.map(function () { return l.value; }));
      });
      var opts = {
        width: Math.max(280, fig.clientWidth - 8),
        height: 220,
        series: series,
        scales: { x: { time: true, range: function (u, lo, hi) { return [c.from || lo, c.to || hi]; } } },
        axes: [{ values: timeTicks }, { size: axisSize, values: function (u, splits) { return splits.map(function (v) { return value(u, v); }); } }],
        legend: { live: true },
      };
      var plot = new uPlot(opts, [times].concat(values), fig);
      plot.root.setAttribute("role", "img");
      plot.root.setAttribute("aria-label", c.title);
      fig._plot = plot; // for the browser tests: the drawn scales and axes
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

  // Timelines: each state's share of the range, set from the script
  // because the Content-Security-Policy allows no inline styles.
  function timelines() {
    document.querySelectorAll(".tl-seg[data-w]").forEach(function (s) {
      s.style.width = s.getAttribute("data-w") + "%";
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    hashToken();
    charts();
    timelines();
  });
})();
