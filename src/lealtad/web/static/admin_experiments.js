// The experiment report's charts, one per measure (visits, spend): for each variant arm, the
// difference from control with its interval as a floating bar and the estimate as a mark. Zero
// is drawn darker: a bar that leaves it out is a significant difference, as the table says. The
// page's table holds the same figures for anyone who cannot see the charts.
(function () {
  "use strict";
  var source = document.getElementById("uplift-data");
  if (!source || typeof Chart === "undefined") return;
  var colours = { visits: "#1a66d2", spend: "#b5541c" };
  JSON.parse(source.textContent).forEach(function (chart) {
    var canvas = document.getElementById("uplift-chart-" + chart.metric);
    if (!canvas) return;
    var colour = colours[chart.metric] || "#555555";
    new Chart(canvas, {
      data: {
        labels: chart.labels,
        datasets: [
          {
            type: "bar",
            label: chart.interval,
            data: chart.ranges,
            backgroundColor: colour + "55",
            borderColor: colour,
            borderWidth: 1,
            barPercentage: 0.5,
          },
          {
            type: "line",
            label: chart.estimate,
            data: chart.points,
            showLine: false,
            pointStyle: "line",
            pointRadius: 18,
            pointBorderWidth: 3,
            borderColor: colour,
            backgroundColor: colour,
          },
        ],
      },
      options: {
        maintainAspectRatio: false,
        animation: false,
        scales: {
          y: {
            beginAtZero: true,
            grace: "10%",
            grid: {
              color: function (context) {
                return context.tick && context.tick.value === 0 ? "#1d1d1d" : "#e0e0e0";
              },
              lineWidth: function (context) {
                return context.tick && context.tick.value === 0 ? 2 : 1;
              },
            },
          },
        },
        plugins: {
          legend: { display: false },
          tooltip: {
            callbacks: {
              label: function (item) {
                var value = item.raw;
                if (Array.isArray(value)) return item.dataset.label + ": " + value[0] + " … " + value[1];
                return item.dataset.label + ": " + value;
              },
            },
          },
        },
      },
    });
  });
})();
