// Exposure audit and ranker attributions on /dashboard/explain (Chart.js, bundled locally). Charts are kept
// in window.tuijianCharts by canvas id, as on the other dashboard pages.
(function () {
  "use strict";
  var kit = window.tuijianChartKit, data = kit.data, charts = kit.charts, make = kit.make, title = kit.title;
  var i18n = data.i18n;
  var palette = ["#1971c2", "#d9480f", "#2b8a3e", "#862e9c", "#e67700", "#0b7285", "#c2255c", "#5f3dc4"];
  var groups = data.groups;

  if (groups.length) {
    var first = data.lorenz[groups[0]];
    var lorenzSets = groups.map(function (g, i) {
      return {label: g, data: data.lorenz[g].y, borderColor: palette[i % palette.length], pointRadius: 0, borderWidth: 2};
    });
    lorenzSets.push({label: i18n.equality, data: first.x, borderColor: "#adb5bd", borderDash: [4, 4], pointRadius: 0, borderWidth: 1});
    make("chart-lorenz", {
      type: "line",
      data: {labels: first.x.map(function (x) { return x.toFixed(2); }), datasets: lorenzSets},
      options: {plugins: {title: title(i18n.lorenz)},
        scales: {x: {title: {display: true, text: i18n.items_share}, ticks: {maxTicksLimit: 6}},
                 y: {min: 0, max: 1, title: {display: true, text: i18n.exposure_share}}}}
    });
    var decileSets = groups.map(function (g, i) {
      return {label: g, data: data.deciles[g].exposure, backgroundColor: palette[i % palette.length]};
    });
    decileSets.push({label: i18n.interactions, data: data.deciles[groups[0]].interactions, backgroundColor: "#ced4da"});
    make("chart-deciles", {
      type: "bar",
      data: {labels: ["1", "2", "3", "4", "5", "6", "7", "8", "9", "10"], datasets: decileSets},
      options: {plugins: {title: title(i18n.deciles)}, scales: {y: {beginAtZero: true, title: {display: true, text: i18n.exposure_share}}}}
    });
  }

  data.attributions.forEach(function (item, n) {
    if (!item.features.length) { return; }
    make("chart-attr-" + n, {
      type: "bar",
      data: {labels: item.features.map(function (f) { return f.feature; }),
             datasets: [{data: item.features.map(function (f) { return f.contribution; }),
                         backgroundColor: item.features.map(function (f) { return f.contribution >= 0 ? "#2b8a3e" : "#c92a2a"; })}]},
      options: {indexAxis: "y", plugins: {legend: {display: false}, title: title(item.title.slice(0, 40))}}
    });
  });
})();
