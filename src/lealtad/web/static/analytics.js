// The analytics page's charts, drawn with the vendored Chart.js from the figures the server put
// in the page (#analytics-data). Each canvas already has an aria-label that sums it up and the
// same figures sit in a table next to it, so nothing is lost without this script.
(function () {
  "use strict";
  var source = document.getElementById("analytics-data");
  if (!source || typeof Chart === "undefined") return;
  var data = JSON.parse(source.textContent);
  var lang = data.lang === "es" ? "es-ES" : "en-GB";
  var still = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  var formats = {
    percent: new Intl.NumberFormat(lang, { maximumFractionDigits: 1 }),
    money: new Intl.NumberFormat(lang, { style: "currency", currency: data.currency }),
    ratio: new Intl.NumberFormat(lang, { maximumFractionDigits: 2 }),
    count: new Intl.NumberFormat(lang, { maximumFractionDigits: 0 }),
  };

  function show(value, unit) {
    if (value === null || value === undefined) return "–";
    if (unit === "percent") return formats.percent.format(value) + (lang === "es-ES" ? " %" : "%");
    if (unit === "money") return formats.money.format(value);
    if (unit === "ratio" || unit === "days") return formats.ratio.format(value);
    return formats.count.format(value);
  }

  function axis(unit, extra) {
    var found = {
      beginAtZero: true,
      grid: { color: "#ebe7e1" },
      ticks: { color: "#3d3d3d", callback: function (v) { return show(v, unit); } },
    };
    if (unit === "percent") found.suggestedMax = 100;
    if (unit === "count" || unit === "points") found.ticks.precision = 0;
    return Object.assign(found, extra || {});
  }

  function dataset(spec, set, horizontal) {
    var line = set.type === "line";
    var out = {
      type: set.type === "doughnut" ? undefined : set.type,
      label: set.label,
      data: set.data,
      borderColor: set.colors || set.color,
      backgroundColor: set.colors || (line ? set.color : set.color + "cc"),
      borderWidth: line ? 2.5 : 1,
      pointRadius: line && !set.dash ? (spec.labels.length > 40 ? 0 : 3) : 0,
      pointHoverRadius: 5,
      tension: 0.25,
      cubicInterpolationMode: "monotone",
      spanGaps: true,
      borderDash: set.dash ? [6, 5] : undefined,
      yAxisID: horizontal ? undefined : set.axis || "y",
      order: line ? 0 : 1,
      maxBarThickness: 48,
    };
    if (set.open) {
      out.segment = {
        borderDash: function (ctx) { return set.open[ctx.p1DataIndex] ? [4, 4] : undefined; },
      };
      out.pointBackgroundColor = set.open.map(function (o) { return o ? "#ffffff" : set.color; });
      out.pointBorderWidth = 2;
    }
    if (set.type === "doughnut") {
      out.borderColor = "#ffffff";
      out.borderWidth = 2;
    }
    return out;
  }

  function config(spec) {
    var horizontal = !!spec.horizontal;
    var doughnut = spec.kind === "doughnut";
    var second = spec.datasets.some(function (s) { return s.axis === "y2"; });
    var scales = {};
    if (!doughnut) {
      var value = horizontal ? "x" : "y";
      var labels = horizontal ? "y" : "x";
      scales[value] = axis(spec.unit);
      scales[labels] = {
        grid: { display: false },
        ticks: { color: "#3d3d3d", autoSkip: true, maxRotation: 0 },
      };
      if (second) {
        scales.y2 = axis(spec.unit, { position: "right", grid: { drawOnChartArea: false } });
      }
    }
    return {
      type: doughnut ? "doughnut" : "bar",
      data: {
        labels: spec.labels,
        datasets: spec.datasets.map(function (s) { return dataset(spec, s, horizontal); }),
      },
      options: {
        indexAxis: horizontal ? "y" : "x",
        maintainAspectRatio: false,
        animation: still ? false : { duration: 400 },
        interaction: { mode: doughnut ? "nearest" : "index", intersect: false },
        scales: scales,
        plugins: {
          legend: {
            display: doughnut || spec.datasets.length > 1,
            position: doughnut && window.innerWidth > 640 ? "right" : "bottom",
            labels: { color: "#1d1d1d", boxWidth: 14 },
          },
          tooltip: {
            callbacks: {
              label: function (item) {
                var shown = show(item.raw, spec.unit);
                return (doughnut ? item.label : item.dataset.label) + ": " + shown;
              },
            },
          },
        },
      },
    };
  }

  var charts = {};
  data.charts.forEach(function (spec) {
    var canvas = document.querySelector('canvas[data-chart="' + spec.id + '"]');
    if (!canvas) return;
    charts[spec.id] = new Chart(canvas, config(spec));
  });
  // For the browser test and for anyone poking at the page from the console.
  window.lealtadCharts = charts;

  // Editing a date or the grouping means a custom period.
  var period = document.getElementById("f-period");
  ["f-start", "f-end", "f-grain"].forEach(function (id) {
    var field = document.getElementById(id);
    if (field && period) {
      field.addEventListener("change", function () { period.value = "custom"; });
    }
  });
})();
