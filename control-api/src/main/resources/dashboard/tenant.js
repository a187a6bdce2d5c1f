'use strict';
// One tenant's GPUs in use per model over the chosen window, sampled each minute, and its metered
// GPU-hours per day and model over the last 7 days.
(() => {
  const { el } = GF;
  const tenant = GF.pathSubject();
  const hours = new URLSearchParams(window.location.search).get('hours') || '1';
  document.getElementById('tenant-name').textContent = tenant;
  document.title = tenant + ' · GPU Fleet';
  document.querySelectorAll('#windows a').forEach((a) => {
    if (a.dataset.hours === hours) a.setAttribute('aria-current', 'page');
  });

  function render(usage) {
    const last = usage.times.length - 1;
    const rows = usage.models.map((m) => el('tr', { 'data-model': m.model }, el('td', {}, m.model), el('td', {}, m.gpus[last])));
    GF.replaceRows(document.querySelector('#now tbody'),
      rows.length ? rows : [el('tr', {}, el('td', { colspan: 2 }, 'No GPUs in use in this window.'))]);
    const days = usage.lastDays.map((d) => el('tr', { 'data-day': d.day, 'data-model': d.model },
      el('td', {}, d.day), el('td', {}, d.model), el('td', {}, d.gpuHours.toFixed(3))));
    GF.replaceRows(document.querySelector('#days tbody'),
      days.length ? days : [el('tr', {}, el('td', { colspan: 3 }, 'No GPU used in the last 7 days.'))]);
    GF.lineChart(document.getElementById('chart-usage'), { title: 'GPUs in use by model', times: usage.times,
      since: usage.times[last] - usage.hours * 3600e3,
      series: usage.models.map((m) => ({ label: m.model, values: m.gpus })), format: (v) => v.toFixed(0), counts: true });
  }

  GF.poll(() => '/dashboard/data/tenants/' + encodeURIComponent(tenant) + '?hours=' + encodeURIComponent(hours), render);
})();
