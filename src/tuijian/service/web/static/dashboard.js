// Tuijian dashboard charts (Chart.js, bundled locally in /static/web/vendor). Chart objects are kept in
// window.tuijianCharts (by canvas id) so tests and operators can inspect their data.
(function () {
  "use strict";
  var kit = window.tuijianChartKit, data = kit.data, charts = kit.charts, make = kit.make, title = kit.title;
  var i18n = kit.json("dash-i18n");
  var palette = ["#d9480f", "#1971c2", "#2b8a3e", "#862e9c", "#e67700", "#0b7285", "#c2255c", "#5f3dc4"];

  var q = data.quality || {};
  if (q.events_per_day) {
    make("chart-events-per-day", {
      type: "line",
      data: {labels: q.events_per_day.labels, datasets: [{label: i18n.events, data: q.events_per_day.values,
        borderColor: palette[1], backgroundColor: "rgba(25,113,194,.12)", fill: true, pointRadius: 0, borderWidth: 1.2}]},
      options: {plugins: {title: title(i18n.events_per_day), legend: {display: false}},
        scales: {x: {ticks: {maxTicksLimit: 12}}}}
    });
  }
  if (q.item_popularity) {
    make("chart-item-popularity", {
      type: "line",
      data: {datasets: [{label: i18n.events, data: q.item_popularity, borderColor: palette[0], pointRadius: 0, borderWidth: 1.5}]},
      options: {parsing: false, plugins: {title: title(i18n.item_popularity), legend: {display: false}},
        scales: {x: {type: "logarithmic"}, y: {type: "logarithmic"}}}
    });
  }
  if (q.user_activity) {
    make("chart-user-activity", {
      type: "bar",
      data: {labels: q.user_activity.labels, datasets: [{label: i18n.users, data: q.user_activity.values, backgroundColor: palette[2]}]},
      options: {plugins: {title: title(i18n.user_activity), legend: {display: false}}}
    });
  }

  var ev = data.evaluation;
  var holder = document.getElementById("evaluation-charts");
  if (ev && holder) {
    ev.metrics.forEach(function (pair) {
      var metric = pair[0], values = pair[1];
      var box = document.createElement("div");
      box.className = "chart-box";
      var canvas = document.createElement("canvas");
      canvas.id = "chart-eval-" + metric.replace(/[^a-z0-9]+/gi, "-");
      box.appendChild(canvas);
      holder.appendChild(box);
      make(canvas.id, {
        type: "bar",
        data: {labels: ev.models, datasets: [{label: metric, data: values,
          backgroundColor: ev.models.map(function (_, i) { return palette[i % palette.length]; })}]},
        options: {plugins: {title: title(metric), legend: {display: false}}, scales: {y: {beginAtZero: true}}}
      });
    });
  }

  var on = data.online;
  if (on) {
    make("chart-online-volume", {
      type: "bar",
      data: {labels: on.labels, datasets: [
        {label: i18n.impressions, data: on.impressions, backgroundColor: palette[1]},
        {label: i18n.clicks, data: on.clicks, backgroundColor: palette[0]},
        {label: i18n.purchases, data: on.purchases, backgroundColor: palette[2]}]},
      options: {plugins: {title: title(i18n.impressions + " / " + i18n.clicks + " / " + i18n.purchases)},
        scales: {y: {type: "logarithmic"}}}
    });
    make("chart-online-rates", {
      type: "line",
      data: {labels: on.labels, datasets: [
        {label: i18n.ctr, data: on.ctr, borderColor: palette[0], backgroundColor: palette[0], pointRadius: 4},
        {label: i18n.conversion, data: on.conversion, borderColor: palette[2], backgroundColor: palette[2], pointRadius: 4}]},
      options: {plugins: {title: title(i18n.ctr + " · " + i18n.conversion)},
        scales: {y: {beginAtZero: true, ticks: {callback: function (v) { return (100 * v).toFixed(1) + "%"; }}}}}
    });
  }
  document.body.setAttribute("data-charts-ready", String(Object.keys(charts).length));
})();
