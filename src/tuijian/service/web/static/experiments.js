// A/B test charts on /dashboard/experiments (Chart.js, bundled locally). Charts are kept in
// window.tuijianCharts by canvas id, as on the main dashboard.
(function () {
  "use strict";
  var kit = window.tuijianChartKit, data = kit.data, charts = kit.charts, make = kit.make, title = kit.title;
  var i18n = kit.json("dash-i18n");
  var palette = ["#1971c2", "#d9480f", "#2b8a3e", "#862e9c", "#e67700", "#0b7285", "#c2255c", "#5f3dc4"];
  var variants = data.variants;

  make("chart-exposures", {
    type: "line",
    data: {labels: data.timeline.labels, datasets: variants.map(function (v, i) {
      return {label: v, data: data.timeline.series[v], borderColor: palette[i % palette.length], pointRadius: 0, borderWidth: 1.5};
    })},
    options: {plugins: {title: title(i18n.exposed_users)}, scales: {x: {ticks: {maxTicksLimit: 10}}, y: {beginAtZero: true}}}
  });

  var rateNames = ["click_rate", "ctr", "conversion"];
  make("chart-rates", {
    type: "bar",
    data: {labels: rateNames.map(function (m) { return i18n[m]; }), datasets: variants.map(function (v, i) {
      return {label: v, backgroundColor: palette[i % palette.length],
        data: rateNames.map(function (m) { var x = data.metrics[m][i]; return x === null ? null : 100 * x; })};
    })},
    options: {plugins: {title: title("%")}, scales: {y: {beginAtZero: true}}}
  });

  // relative difference against the control: a floating bar per interval, a point for the estimate
  var labels = [], bars = [], points = [];
  Object.keys(data.diffs).forEach(function (metric) {
    data.diffs[metric].forEach(function (d) {
      labels.push(d.variant + " · " + metric);
      bars.push([100 * d.low, 100 * d.high]);
      points.push(100 * d.lift);
    });
  });
  make("chart-diffs", {
    type: "bar",
    data: {labels: labels, datasets: [
      {type: "line", label: "estimate (%)", data: points, showLine: false, pointRadius: 5, borderColor: "#212529", backgroundColor: "#212529"},
      {label: "interval (%)", data: bars, backgroundColor: "rgba(25,113,194,.35)", borderColor: palette[0], borderWidth: 1}]},
    options: {indexAxis: "x", plugins: {title: title(i18n.difference_ci)}, scales: {y: {title: {display: true, text: "% vs control"}}}}
  });
})();
