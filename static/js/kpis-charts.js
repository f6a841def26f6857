// KPI dashboards and scorecards (Chart.js, vendored): reads the JSON of <script id="kpis-chart-data">
// written by kpis.views (Overview.chart_data, scorecard_chart_data) and draws each chart on the
// <canvas> it names. No inline script, so the pages work under a strict Content-Security-Policy.
// {"charts": [{"canvas": id, "type": "line"|"bar"|"doughnut", "horizontal": bool, "percent": bool,
//              "bands": {"watch": number, "healthy": number}, "bucketStarts": [number], "labels": [str], "datasets": [{"label": str, "values": [number|null]}],
//              "min": number, "max": number}]}
(function () {
  "use strict";

  var PALETTE = ["13, 110, 253", "25, 135, 84", "255, 193, 7", "220, 53, 69", "111, 66, 193", "13, 202, 240", "253, 126, 20", "108, 117, 125"];
  var BAND_COLOURS = {at_risk: "220, 53, 69", watch: "255, 193, 7", healthy: "25, 135, 84"};

  function colour(index, alpha) {
    return "rgba(" + PALETTE[index % PALETTE.length] + ", " + alpha + ")";
  }

  function dataset(chart, series, index) {
    var isLine = chart.type === "line";
    var result = {
      label: series.label,
      data: series.values,
      borderColor: colour(index, 1),
      backgroundColor: isLine ? colour(index, 0.15) : colour(index, 0.7),
      borderWidth: isLine ? 2 : 0,
      spanGaps: true,
      tension: 0.2,
      pointRadius: series.values.length > 60 ? 0 : 3
    };
    if (chart.type === "doughnut") {
      result.backgroundColor = series.values.map(function (_value, i) { return colour(i, 0.8); });
    } else if (chart.bands) {
      // Each score bucket in the colour of the band its lower edge falls in (the active score model's bands).
      result.backgroundColor = chart.bucketStarts.map(function (start) {
        var band = start >= chart.bands.healthy ? "healthy" : (start >= chart.bands.watch ? "watch" : "at_risk");
        return "rgba(" + BAND_COLOURS[band] + ", 0.75)";
      });
    }
    return result;
  }

  function options(chart) {
    if (chart.type === "doughnut") {
      return {responsive: true, plugins: {legend: {position: "bottom"}}};
    }
    var valueAxis = chart.horizontal ? "x" : "y";
    var scales = {};
    scales[valueAxis] = {beginAtZero: chart.type !== "line" || typeof chart.min === "number", ticks: {precision: 0}};
    if (typeof chart.min === "number") {
      scales[valueAxis].min = chart.min;
    }
    if (typeof chart.max === "number") {
      scales[valueAxis].max = chart.max;
    }
    if (chart.percent) {
      scales[valueAxis].ticks.callback = function (value) { return value + "%"; };
    }
    return {
      indexAxis: chart.horizontal ? "y" : "x",
      responsive: true,
      interaction: {mode: "index", intersect: false},
      plugins: {legend: {display: chart.datasets.length > 1, position: "bottom"}},
      scales: scales
    };
  }

  function draw() {
    var source = document.getElementById("kpis-chart-data");
    if (!source || typeof window.Chart === "undefined") {
      return;
    }
    var data = JSON.parse(source.textContent);
    (data.charts || []).forEach(function (chart) {
      var canvas = document.getElementById(chart.canvas);
      if (!canvas) {
        return;
      }
      new window.Chart(canvas, {
        type: chart.type,
        data: {
          labels: chart.labels,
          datasets: chart.datasets.map(function (series, index) { return dataset(chart, series, index); })
        },
        options: options(chart)
      });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
