'use strict';
// One host: its facts, its GPUs, the last hour of their telemetry, and the workloads on it.
(() => {
  const { el } = GF;
  const host = GF.pathSubject();
  document.getElementById('host-name').textContent = host;
  document.title = host + ' · GPU Fleet';

  function facts(h) {
    const pairs = [['State', h.state], ['Last heartbeat', h.lastHeartbeat ? new Date(h.lastHeartbeat).toLocaleString() : '–'],
      ['Driver', h.driverVersion || '–'], ['CUDA', h.cudaVersion || '–'],
      ['GPUs', h.gpus.total + ' (' + h.gpus.free + ' free, ' + h.gpus.allocated + ' allocated, '
        + h.gpus.unhealthy + ' unhealthy)']];
    if (h.resources) pairs.push(['Allocatable', h.resources.allocatableCpu + ' cpu, ' + h.resources.allocatableMemory]);
    return pairs.flatMap(([k, v]) => [el('dt', {}, k), el('dd', { 'data-fact': k }, v)]);
  }

  function gpuRow(g) {
    return el('tr', { 'data-uuid': g.uuid, 'data-state': g.state },
      el('td', {}, g.index), el('td', { class: 'mono' }, g.uuid), el('td', {}, g.model),
      el('td', {}, el('span', { class: 'badge ' + g.state, title: g.reason || '' }, g.state)),
      el('td', {}, g.tenant || '–'), el('td', {}, GF.unit(g.utilization, ' %')),
      el('td', {}, GF.bytes(g.memoryUsedBytes) + ' / ' + GF.bytes(g.memoryTotalBytes)),
      el('td', {}, GF.unit(g.temperatureC, ' °C')), el('td', {}, GF.watts(g.powerMilliwatts)));
  }

  function charts(t, now) {
    const scale = (values, f) => values.map((v) => (v === null ? null : f(v)));
    const each = (pick) => t.gpus.map((g) => ({ label: 'GPU ' + g.index, values: pick(g) }));
    const since = now - 3600e3;
    GF.lineChart(document.getElementById('chart-utilization'), { title: 'Utilization', times: t.times, since,
      series: each((g) => g.utilization), format: (v) => v.toFixed(0) + ' %', max: 100 });
    GF.lineChart(document.getElementById('chart-memory'), { title: 'Memory used', times: t.times, since,
      series: each((g) => scale(g.memoryUsedBytes, (b) => b / 1024 ** 3)), format: (v) => v.toFixed(v < 10 ? 1 : 0) + ' GiB' });
    GF.lineChart(document.getElementById('chart-temperature'), { title: 'Temperature', times: t.times, since,
      series: each((g) => g.temperatureC), format: (v) => v.toFixed(0) + ' °C' });
    GF.lineChart(document.getElementById('chart-power'), { title: 'Power', times: t.times, since,
      series: each((g) => scale(g.powerMilliwatts, (mw) => mw / 1000)), format: (v) => v.toFixed(0) + ' W' });
  }

  function render(page) {
    document.getElementById('host-facts').replaceChildren(...facts(page.host));
    GF.replaceRows(document.querySelector('#gpus tbody'), page.gpus.map(gpuRow));
    charts(page.telemetry, page.at);
    const rows = page.workloads.map((w) => el('tr', { 'data-pod': w.podUid },
      el('td', {}, w.tenant), el('td', {}, w.namespace), el('td', {}, w.name),
      el('td', {}, w.phase + (w.reason ? ' (' + w.reason + ')' : '')), el('td', { class: 'mono' }, w.gpus.join(', ') || '–')));
    GF.replaceRows(document.querySelector('#workloads tbody'),
      rows.length ? rows : [el('tr', {}, el('td', { colspan: 5 }, 'No workloads on this host.'))]);
  }

  GF.poll('/dashboard/data/hosts/' + encodeURIComponent(host), render);
})();
