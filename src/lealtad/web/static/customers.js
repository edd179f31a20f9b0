// Draws the customer-value charts from the JSON the page carries; the tables hold the figures.
(function () {
  const data = JSON.parse(document.getElementById("customers-data").textContent);
  if (typeof Chart === "undefined") return;
  const brown = "#5b3a29";
  const w = data.words;
  const charts = {};
  const seg = document.getElementById("chart-segments");
  if (seg && data.segments) {
    charts.segments = new Chart(seg, {
      type: "bar",
      data: { labels: data.segments.labels, datasets: [{ label: w.members, data: data.segments.members, backgroundColor: brown }] },
      options: { maintainAspectRatio: false, indexAxis: "y", plugins: { legend: { display: false } } },
    });
  }
  const lorenz = document.getElementById("chart-lorenz");
  if (lorenz && data.lorenz) {
    const points = data.lorenz.map(([p, s]) => ({ x: p * 100, y: s * 100 }));
    charts.lorenz = new Chart(lorenz, {
      type: "line",
      data: { datasets: [
        { label: w.share_revenue, data: points, borderColor: brown, backgroundColor: "rgba(91,58,41,.15)", fill: true, pointRadius: 0 },
        { label: w.equal, data: [{ x: 0, y: 0 }, { x: 100, y: 100 }], borderColor: "#999", borderDash: [4, 4], pointRadius: 0 },
      ] },
      options: { maintainAspectRatio: false, parsing: true,
        scales: { x: { type: "linear", min: 0, max: 100, title: { display: true, text: w.share_members + " (%)" } },
                  y: { min: 0, max: 100, title: { display: true, text: w.share_revenue + " (%)" } } } },
    });
  }
  const value = document.getElementById("chart-value");
  if (value && data.histogram) {
    const edges = data.histogram.edges;
    const labels = data.histogram.counts.map((_, i) => Math.round(edges[i] / 100) + "–" + Math.round(edges[i + 1] / 100));
    charts.value = new Chart(value, {
      type: "bar",
      data: { labels: labels, datasets: [{ label: w.members, data: data.histogram.counts, backgroundColor: brown }] },
      options: { maintainAspectRatio: false, plugins: { legend: { display: false } },
        scales: { x: { title: { display: true, text: w.value } } } },
    });
  }
  const tracking = document.getElementById("chart-tracking");
  if (tracking && data.tracking) {
    const t = data.tracking;
    const cut = t.labels.indexOf(t.calibration_end);
    // A dashed vertical line where the calibration ends and the holdout begins, as in the
    // method's papers; drawn by this page's own plugin (no inline code under the CSP).
    const calibrationEnd = {
      id: "calibrationEnd",
      afterDatasetsDraw(chart) {
        if (cut < 0) return;
        const x = chart.scales.x.getPixelForValue(cut);
        const area = chart.chartArea;
        const ctx = chart.ctx;
        ctx.save();
        ctx.strokeStyle = "#666";
        ctx.setLineDash([5, 4]);
        ctx.beginPath();
        ctx.moveTo(x, area.top);
        ctx.lineTo(x, area.bottom);
        ctx.stroke();
        ctx.fillStyle = "#444";
        ctx.fillText(w.calibration_end, x + 4, area.top + 12);
        ctx.restore();
      },
    };
    charts.tracking = new Chart(tracking, {
      type: "line",
      data: { labels: t.labels, datasets: [
        { label: w.actual, data: t.actual, borderColor: brown, backgroundColor: brown, pointRadius: 0, borderWidth: 2 },
        { label: w.predicted, data: t.predicted, borderColor: "#2f6f9f", backgroundColor: "#2f6f9f", borderDash: [6, 4], pointRadius: 0, borderWidth: 2 },
        { label: w.forecast, data: t.forecast, borderColor: "#c07a1a", backgroundColor: "#c07a1a", borderDash: [2, 3], pointRadius: 0, borderWidth: 2, spanGaps: false },
      ] },
      options: { maintainAspectRatio: false, animation: false, interaction: { mode: "index", intersect: false },
        scales: { x: { title: { display: true, text: w.week_ending }, ticks: { maxTicksLimit: 12 } },
                  y: { beginAtZero: true, title: { display: true, text: w.cumulative } } } },
      plugins: [calibrationEnd],
    });
  }
  // For the browser test and for anyone poking at the page from the console.
  window.lealtadCharts = charts;
})();
