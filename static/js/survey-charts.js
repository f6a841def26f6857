// Survey results charts (Chart.js, vendored): reads the JSON of <script id="survey-chart-data">
// written by surveys.views._chart_data, and draws each chart on the <canvas> it names.
// {"charts": [{"canvas": id, "type": "bar"|"line", "horizontal": bool, "label": str,
//              "labels": [str], "values": [number|null], "min": number, "max": number}]}
(function () {
  "use strict";

  function draw() {
    var source = document.getElementById("survey-chart-data");
    if (!source || typeof window.Chart === "undefined") {
      return;
    }
    var data = JSON.parse(source.textContent);
    (data.charts || []).forEach(function (chart) {
      var canvas = document.getElementById(chart.canvas);
      if (!canvas) {
        return;
      }
      var isLine = chart.type === "line";
      var valueAxis = chart.horizontal ? "x" : "y";
      var scales = {};
      scales[valueAxis] = {beginAtZero: !isLine, ticks: {precision: 0}};
      if (typeof chart.min === "number") {
        scales[valueAxis].min = chart.min;
      }
      if (typeof chart.max === "number") {
        scales[valueAxis].max = chart.max;
      }
      new window.Chart(canvas, {
        type: chart.type,
        data: {
          labels: chart.labels,
          datasets: [{
            label: chart.label,
            data: chart.values,
            backgroundColor: isLine ? "rgba(13, 110, 253, 0.15)" : "rgba(13, 110, 253, 0.6)",
            borderColor: "rgb(13, 110, 253)",
            borderWidth: isLine ? 2 : 0,
            spanGaps: true,
            tension: 0.2
          }]
        },
        options: {
          indexAxis: chart.horizontal ? "y" : "x",
          responsive: true,
          plugins: {legend: {display: false}},
          scales: scales
        }
      });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
