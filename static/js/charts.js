/* csplatform charts: draws every <canvas data-chart="..."> from the JSON in the element named
   by data-chart-data (rendered with json_script), on page load and after each htmx swap.
   No inline JavaScript; Chart.js is vendored under static/vendor/chartjs. */
(function () {
  "use strict";

  var BAND = { red: "#b42318", yellow: "#b54708", green: "#067647", none: "#667085" };

  function readJSON(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }

  function healthHistory(canvas, data) {
    // the last N calendar days (a history may be sparser than daily further back)
    var days = parseInt(canvas.dataset.days || "90", 10);
    var last = data.length ? new Date(data[data.length - 1].date) : new Date();
    var cutoff = new Date(last.getTime() - days * 86400000).toISOString().slice(0, 10);
    var points = data.filter(function (p) { return p.date > cutoff; });
    return new window.Chart(canvas, {
      type: "line",
      data: {
        labels: points.map(function (p) { return p.date; }),
        datasets: [{
          label: "Health score",
          data: points.map(function (p) { return p.score; }),
          borderColor: "#344054",
          borderWidth: 2,
          // a short history shows its points; a long one is a line
          pointRadius: points.length < 30 ? 3 : 0,
          pointHoverRadius: 4,
          tension: 0.2,
          segment: {
            borderColor: function (ctx) {
              var p = points[ctx.p1DataIndex];
              return BAND[p && p.colour] || BAND.none;
            }
          }
        }]
      },
      options: {
        animation: false,
        maintainAspectRatio: false,
        interaction: { mode: "index", intersect: false },
        scales: {
          y: { min: 0, max: 100, ticks: { stepSize: 25 } },
          x: { ticks: { maxTicksLimit: 6, autoSkip: true } }
        },
        plugins: {
          legend: { display: false },
          tooltip: {
            callbacks: {
              label: function (ctx) {
                var p = points[ctx.dataIndex];
                return "Score " + p.score + " (" + p.colour + ")";
              }
            }
          }
        }
      }
    });
  }

  function fitnessBands(canvas, data) {
    var datasets = ["red", "yellow", "green"].map(function (band) {
      return {
        label: band.charAt(0).toUpperCase() + band.slice(1) + " band",
        data: data.bands[band].map(function (v) { return v === null ? null : Math.round(v * 1000) / 10; }),
        backgroundColor: BAND[band]
      };
    });
    return new window.Chart(canvas, {
      type: "bar",
      data: { labels: data.leads.map(function (l) { return l + " before churn"; }), datasets: datasets },
      options: {
        animation: false,
        maintainAspectRatio: false,
        scales: { y: { min: 0, max: 100, title: { display: true, text: "Churn rate %" } } },
        plugins: { legend: { position: "bottom" } }
      }
    });
  }

  var DRAW = { "health-history": healthHistory, "fitness-bands": fitnessBands };

  function draw(canvas) {
    if (!window.Chart) return;
    var kind = DRAW[canvas.dataset.chart];
    // data in a json_script element (full pages) or on the canvas itself (htmx fragments)
    var data = canvas.dataset.chartJson
      ? JSON.parse(canvas.dataset.chartJson)
      : readJSON(canvas.dataset.chartData);
    if (!kind || !data) return;
    if (canvas._chart) canvas._chart.destroy();
    canvas._chart = kind(canvas, data);
  }

  function drawAll(root) {
    (root || document).querySelectorAll("canvas[data-chart]").forEach(draw);
  }

  document.addEventListener("htmx:load", function (event) { drawAll(event.target); });
  document.addEventListener("DOMContentLoaded", function () { drawAll(document); });

  // Range buttons: <button data-chart-range="canvas-id" data-days="365">
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-chart-range]");
    if (!button) return;
    var canvas = document.getElementById(button.dataset.chartRange);
    if (!canvas) return;
    canvas.dataset.days = button.dataset.days;
    button.parentElement.querySelectorAll("[data-chart-range]").forEach(function (b) {
      b.setAttribute("aria-pressed", b === button ? "true" : "false");
    });
    draw(canvas);
  });
})();
