// Draws the customer-value charts from the JSON the page carries; the tables hold the figures.
(function () {
  const data = JSON.parse(document.getElementById("customers-data").textContent);
  if (typeof Chart === "undefined") return;
  const brown = "#5b3a29";
  const w = data.words;
  const seg = document.getElementById("chart-segments");
  if (seg && data.segments) {
    new Chart(seg, {
      type: "bar",
      data: { labels: data.segments.labels, datasets: [{ label: w.members, data: data.segments.members, backgroundColor: brown }] },
      options: { maintainAspectRatio: false, indexAxis: "y", plugins: { legend: { display: false } } },
    });
  }
  const lorenz = document.getElementById("chart-lorenz");
  if (lorenz && data.lorenz) {
    const points = data.lorenz.map(([p, s]) => ({ x: p * 100, y: s * 100 }));
    new Chart(lorenz, {
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
    new Chart(value, {
      type: "bar",
      data: { labels: labels, datasets: [{ label: w.members, data: data.histogram.counts, backgroundColor: brown }] },
      options: { maintainAspectRatio: false, plugins: { legend: { display: false } },
        scales: { x: { title: { display: true, text: w.value } } } },
    });
  }
})();
