/* csplatform charts: draws every <canvas data-chart="..."> from the JSON in the element named
   by data-chart-data (rendered with json_script), on page load and after each htmx swap.
   No inline JavaScript; Chart.js is vendored under static/vendor/chartjs. */
(function () {
  "use strict";
  // The catalogue is Django's JavaScriptCatalog (/jsi18n/); figures and days are written in
  // the organization's locale and currency (<body data-locale data-currency>), as the tables.
  var gettext = window.gettext || function (s) { return s; };
  var interpolate = window.interpolate || function (s, args) {
    return s.replace(/%s/g, function () { return String(args.shift()); });
  };
  function locale() { return (document.body && document.body.dataset.locale) || undefined; }
  function currency() { return (document.body && document.body.dataset.currency) || ""; }

  var BAND = { red: "#b42318", yellow: "#b54708", green: "#067647", none: "#667085" };

  function readJSON(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }

  // -- the health chart: a real date axis (a linear axis of days; Chart.js's time scale
  // needs a date adapter this project does not vendor), gaps of more than a week break the
  // line, the colour bands are shaded behind it (and named, so colour is not the only
  // carrier), the tooltip names the day's top movers, and a click loads that day's breakdown.
  var DAY_MS = 86400000;
  var GAP_DAYS = 8;
  var BAND_FILL = {
    red: "rgba(180, 35, 24, 0.08)", yellow: "rgba(181, 71, 8, 0.08)", green: "rgba(6, 118, 71, 0.08)"
  };

  function dayNumber(iso) { return Math.round(Date.parse(iso + "T00:00:00Z") / DAY_MS); }
  function dayLabel(n, withYear) {
    var d = new Date(n * DAY_MS);
    var opts = { day: "numeric", month: "short", timeZone: "UTC" };
    if (withYear) opts.year = "numeric";
    return d.toLocaleDateString(locale(), opts);
  }

  var bandsPlugin = {
    id: "healthBands",
    beforeDatasetsDraw: function (chart) {
      var bands = chart.options.plugins.healthBands;
      if (!bands) return;
      var area = chart.chartArea, y = chart.scales.y, ctx = chart.ctx;
      var ranges = [
        ["red", 0, bands.red_max], ["yellow", bands.red_max, bands.yellow_max],
        ["green", bands.yellow_max, 100]
      ];
      ctx.save();
      ranges.forEach(function (r) {
        var top = y.getPixelForValue(r[2]), bottom = y.getPixelForValue(r[1]);
        ctx.fillStyle = BAND_FILL[r[0]];
        ctx.fillRect(area.left, top, area.right - area.left, bottom - top);
        ctx.fillStyle = BAND[r[0]];
        ctx.font = "11px system-ui, sans-serif";
        ctx.textAlign = "right";
        ctx.fillText(bands.labels[r[0]], area.right - 4, top + 12);
      });
      ctx.restore();
    }
  };

  function healthHistory(canvas, data) {
    var all = data.points || data;
    var bands = data.bands || { red_max: 50, yellow_max: 75 };
    var words = data.labels || {};
    bands.labels = words.bands || { red: gettext("red"), yellow: gettext("yellow"), green: gettext("green") };
    // the last N calendar days (a history may be sparser than daily further back)
    var days = parseInt(canvas.dataset.days || "90", 10);
    var lastDay = all.length ? dayNumber(all[all.length - 1].date) : Math.round(Date.now() / DAY_MS);
    var firstDay = lastDay - days + 1;
    var scored = all.filter(function (p) { return dayNumber(p.date) >= firstDay; });
    var points = [];
    scored.forEach(function (p, i) {
      var x = dayNumber(p.date);
      if (i > 0 && x - dayNumber(scored[i - 1].date) > GAP_DAYS) {
        points.push({ x: x - 1, y: null });  // a gap is a gap: the line breaks
      }
      points.push({ x: x, y: p.score, point: p });
    });
    var withYear = days > 120;
    // events as markers (playbook opened or closed, contact logged, colour change): one
    // dataset per kind, drawn on the line at their day, each kind with its own shape
    var legend = words.events || {};
    var scoreOn = {};
    scored.forEach(function (p) { scoreOn[dayNumber(p.date)] = p.score; });
    function scoreNear(x) {
      for (var d = 0; d <= GAP_DAYS; d++) {
        if (scoreOn[x - d] !== undefined && scoreOn[x - d] !== null) return scoreOn[x - d];
        if (scoreOn[x + d] !== undefined && scoreOn[x + d] !== null) return scoreOn[x + d];
      }
      return 50;
    }
    var markerSets = Object.keys(legend).map(function (kind) {
      var marks = (data.events || []).filter(function (e) {
        var x = dayNumber(e.date);
        return e.kind === kind && x >= firstDay && x <= lastDay;
      }).map(function (e) {
        var x = dayNumber(e.date);
        return { x: x, y: scoreNear(x), event: e };
      });
      return {
        type: "scatter",
        label: legend[kind].label,
        data: marks,
        parsing: false,
        showLine: false,
        pointStyle: legend[kind].shape,
        pointRadius: 6,
        pointHoverRadius: 8,
        pointHitRadius: 8,
        borderColor: "#101828",
        backgroundColor: "rgba(255, 255, 255, 0.9)",
        borderWidth: 1.5
      };
    }).filter(function (s) { return s.data.length; });
    return new window.Chart(canvas, {
      type: "line",
      data: {
        datasets: [{
          label: gettext("Health score"),
          data: points,
          parsing: false,
          spanGaps: false,
          borderColor: "#344054",
          borderWidth: 2,
          // a short history shows its points; a long one is a line
          pointRadius: scored.length < 30 ? 3 : 0,
          pointHitRadius: 6,
          pointHoverRadius: 5,
          tension: 0.2,
          segment: {
            borderColor: function (ctx) {
              var p = points[ctx.p1DataIndex];
              return BAND[p && p.point && p.point.colour] || BAND.none;
            }
          }
        }].concat(markerSets)
      },
      plugins: [bandsPlugin],
      options: {
        animation: false,
        maintainAspectRatio: false,
        interaction: { mode: "nearest", axis: "x", intersect: false },
        scales: {
          y: { min: 0, max: 100, ticks: { stepSize: 25, callback: function (v) { return formatNumber(v); } } },
          x: {
            type: "linear",
            min: firstDay,
            max: lastDay,
            ticks: {
              maxTicksLimit: 6,
              callback: function (value) { return dayLabel(value, withYear); }
            }
          }
        },
        onClick: function (event, elements) {
          var onLine = elements.filter(function (el) { return el.datasetIndex === 0; });
          if (!onLine.length || !window.htmx) return;
          var p = points[onLine[0].index].point;
          if (!p || !canvas.dataset.dayUrl) return;
          window.htmx.ajax("GET", canvas.dataset.dayUrl + "?day=" + p.date, {
            target: "#" + canvas.dataset.dayTarget, swap: "outerHTML"
          });
        },
        plugins: {
          // the markers' legend is the list below the canvas (shapes and names, as text)
          legend: { display: false },
          healthBands: bands,
          tooltip: {
            filter: function (item) { return item.raw && (item.raw.point || item.raw.event); },
            callbacks: {
              title: function (items) { return items.length ? dayLabel(items[0].raw.x, true) : ""; },
              label: function (ctx) {
                if (ctx.raw.event) return ctx.dataset.label + ": " + ctx.raw.event.text;
                var p = ctx.raw.point;
                return (words.score || gettext("Score")) + " " + formatNumber(p.score) + " (" + (bands.labels[p.colour] || p.colour) + ")";
              },
              afterBody: function (items) {
                var line = items.filter(function (i) { return i.raw.point; });
                var p = line.length && line[0].raw.point;
                if (!p || !p.movers || !p.movers.length) return [];
                return [(words.since || gettext("Since")) + " " + dayLabel(dayNumber(p.since), true) + ":"].concat(
                  p.movers.map(function (m) {
                    return "  " + m.label + " " + (m.contribution > 0 ? "+" : "") + formatNumber(m.contribution, 1, 1);
                  })
                );
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
        label: { red: gettext("Red band"), yellow: gettext("Yellow band"), green: gettext("Green band") }[band],
        data: data.bands[band].map(function (v) { return v === null ? null : Math.round(v * 1000) / 10; }),
        backgroundColor: BAND[band]
      };
    });
    return new window.Chart(canvas, {
      type: "bar",
      data: {
        labels: data.leads.map(function (l) { return interpolate(gettext("%s before churn"), [l]); }),
        datasets: datasets
      },
      options: {
        animation: false,
        maintainAspectRatio: false,
        scales: {
          y: {
            min: 0, max: 100,
            title: { display: true, text: gettext("Churn rate %") },
            ticks: { callback: function (v) { return formatPercent(v); } }
          }
        },
        plugins: { legend: { position: "bottom" } }
      }
    });
  }

  // -- reports ----------------------------------------------------------------------------
  // Colours follow meaning (good green, bad red, warning amber, info blue, neutral grey) and
  // are never the only carrier of it: losses and risk are also hatched, warnings dotted, and
  // every series is named in the legend and the tooltip (the same figures are in a table).
  var TONE = {
    good: "#067647", bad: "#b42318", warning: "#b54708", info: "#1f5fd6", neutral: "#667085"
  };

  function pattern(colour, kind) {
    var tile = document.createElement("canvas");
    tile.width = tile.height = 8;
    var ctx = tile.getContext("2d");
    ctx.fillStyle = colour;
    ctx.fillRect(0, 0, 8, 8);
    ctx.strokeStyle = "rgba(255,255,255,0.75)";
    ctx.fillStyle = "rgba(255,255,255,0.75)";
    if (kind === "hatch") {
      ctx.lineWidth = 2;
      ctx.beginPath();
      ctx.moveTo(0, 8); ctx.lineTo(8, 0);
      ctx.moveTo(-2, 2); ctx.lineTo(2, -2);
      ctx.moveTo(6, 10); ctx.lineTo(10, 6);
      ctx.stroke();
    } else if (kind === "dots") {
      ctx.beginPath();
      ctx.arc(4, 4, 1.5, 0, 2 * Math.PI);
      ctx.fill();
    }
    return ctx.createPattern(tile, "repeat");
  }

  function fill(tone) {
    var colour = TONE[tone] || TONE.neutral;
    if (tone === "bad") return pattern(colour, "hatch");
    if (tone === "warning") return pattern(colour, "dots");
    return colour;
  }

  function formatNumber(value, min, max) {
    if (value === null || value === undefined) return "—";
    return new Intl.NumberFormat(locale(), {
      minimumFractionDigits: min || 0, maximumFractionDigits: max === undefined ? 1 : max
    }).format(Number(value));
  }

  function formatMoney(value) {
    if (value === null || value === undefined) return "—";
    if (!currency()) return formatNumber(value, 0, 0);
    return new Intl.NumberFormat(locale(), {
      style: "currency", currency: currency(), minimumFractionDigits: 0, maximumFractionDigits: 0
    }).format(Number(value));
  }

  function formatPercent(value) {
    if (value === null || value === undefined) return "—";
    return new Intl.NumberFormat(locale(), { style: "percent", maximumFractionDigits: 1 })
      .format(Number(value) / 100);
  }

  function bars(canvas, data) {
    return new window.Chart(canvas, {
      type: "bar",
      data: {
        labels: data.labels,
        datasets: data.series.map(function (s) {
          return {
            label: s.label,
            data: s.values,
            backgroundColor: fill(s.tone),
            borderColor: TONE[s.tone] || TONE.neutral,
            borderWidth: 1
          };
        })
      },
      options: {
        animation: false,
        maintainAspectRatio: false,
        scales: {
          x: { stacked: !!data.stacked, ticks: { maxTicksLimit: 12, autoSkip: true } },
          y: {
            stacked: !!data.stacked,
            beginAtZero: true,
            ticks: { callback: function (v) { return data.money ? formatMoney(v) : formatNumber(v); } }
          }
        },
        plugins: {
          legend: { position: "bottom" },
          tooltip: {
            callbacks: {
              label: function (ctx) {
                return ctx.dataset.label + ": " + (data.money ? formatMoney(ctx.parsed.y) : formatNumber(ctx.parsed.y));
              }
            }
          }
        }
      }
    });
  }

  function funnel(canvas, data) {
    var last = data.values.length - 1;
    return new window.Chart(canvas, {
      type: "bar",
      data: {
        labels: data.labels,
        datasets: [{
          label: canvas.getAttribute("aria-label") || "",
          data: data.values,
          backgroundColor: data.values.map(function (_, i) {
            return i === last ? TONE.good : TONE.info;
          })
        }]
      },
      options: {
        indexAxis: "y",
        animation: false,
        maintainAspectRatio: false,
        scales: { x: { beginAtZero: true, ticks: { callback: function (v) { return formatNumber(v); } } } },
        plugins: {
          legend: { display: false },
          tooltip: {
            callbacks: {
              label: function (ctx) {
                var first = data.values[0] || 0;
                var share = first
                  ? " (" + interpolate(gettext("%s of firings"), [formatPercent(100 * ctx.parsed.x / first)]) + ")"
                  : "";
                return ctx.label + ": " + formatNumber(ctx.parsed.x) + share;
              }
            }
          }
        }
      }
    });
  }

  function healthTrend(canvas, data) {
    var kinds = { red: "hatch", yellow: "dots", green: "" };
    return new window.Chart(canvas, {
      type: "bar",
      data: {
        labels: data.labels,
        datasets: data.series.map(function (s) {
          return {
            label: s.label,
            data: s.values,
            backgroundColor: kinds[s.band] ? pattern(BAND[s.band], kinds[s.band]) : BAND[s.band],
            borderColor: BAND[s.band],
            borderWidth: 1
          };
        })
      },
      options: {
        animation: false,
        maintainAspectRatio: false,
        scales: {
          x: { stacked: true, ticks: { maxTicksLimit: 8, autoSkip: true } },
          y: {
            stacked: true, min: 0, max: 100, title: { display: true, text: "%" },
            ticks: { callback: function (v) { return formatPercent(v); } }
          }
        },
        plugins: {
          legend: { position: "bottom" },
          tooltip: {
            callbacks: {
              label: function (ctx) { return ctx.dataset.label + ": " + formatPercent(ctx.parsed.y); }
            }
          }
        }
      }
    });
  }

  function lift(canvas, data) {
    return bars(canvas, data);
  }

  var DRAW = {
    "health-history": healthHistory,
    "fitness-bands": fitnessBands,
    bars: bars,
    funnel: funnel,
    "health-trend": healthTrend,
    lift: lift
  };

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
  // Before htmx snapshots the page for its history (a pushed URL), the charts go: Chart.js
  // sizes a canvas through its style, and cloning an element that carries a style attribute
  // is refused by the Content-Security-Policy. The part with the charts is being replaced.
  document.addEventListener("htmx:beforeHistorySave", function () {
    document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      if (canvas._chart) {
        canvas._chart.destroy();
        canvas._chart = null;
      }
      canvas.removeAttribute("style");
    });
  });
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
