// Shared set-up for the dashboard pages' charts (Chart.js, bundled locally in /static/web/vendor): the page's
// data (the #dash-data JSON), Chart.js defaults, and make(id, config), which keeps each chart in
// window.tuijianCharts by canvas id so tests and operators can inspect their data.
window.tuijianChartKit = (function () {
  "use strict";
  var charts = window.tuijianCharts = {};
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.animation = false;
  Chart.defaults.maintainAspectRatio = false;
  function make(id, config) {
    var canvas = document.getElementById(id);
    if (!canvas) { return null; }
    charts[id] = new Chart(canvas, config);
    return charts[id];
  }
  function title(text) { return {display: true, text: text, font: {size: 14, weight: "600"}}; }
  function json(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }
  return {charts: charts, make: make, title: title, json: json, data: json("dash-data")};
})();
