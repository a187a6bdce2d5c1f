'use strict';
// The fleet at a glance: totals per model, and each host as a row of its GPUs coloured by state.
(() => {
  const { el } = GF;

  function gpuTitle(host, g) {
    const lines = ['GPU ' + g.index + ' · ' + g.model, g.uuid];
    if (g.state === 'unhealthy') lines.push('unhealthy: ' + (g.reason || 'no reason given'));
    else if (g.state === 'allocated') lines.push('allocated to ' + g.tenant);
    else lines.push('free');
    lines.push('utilization ' + GF.unit(g.utilization, ' %') + ', memory ' + GF.bytes(g.memoryUsedBytes) + ' of '
      + GF.bytes(g.memoryTotalBytes) + ', ' + GF.unit(g.temperatureC, ' °C') + ', ' + GF.watts(g.powerMilliwatts));
    return lines.join('\n');
  }

  function gpuCell(host, g) {
    const level = el('span', { class: 'level' });
    level.style.height = Math.max(0, Math.min(100, g.utilization || 0)) + '%';
    const cell = el('a', {
      class: 'gpu ' + g.state, href: '/dashboard/hosts/' + encodeURIComponent(host.name),
      'data-uuid': g.uuid, 'data-state': g.state, 'data-tenant': g.tenant, title: gpuTitle(host, g),
    }, level, el('span', { class: 'index' }, g.index),
      el('span', { class: 'who' }, g.state === 'allocated' ? g.tenant : g.state === 'unhealthy' ? '!' : ''));
    if (g.state === 'allocated') {
      cell.style.backgroundColor = GF.tenantColour(g.tenant);
    }
    return cell;
  }

  function hostRow(host) {
    return el('div', { class: 'host', 'data-host': host.name, 'data-state': host.state },
      el('a', { class: 'host-name', href: '/dashboard/hosts/' + encodeURIComponent(host.name) }, host.name),
      el('span', { class: 'badge ' + host.state }, host.state),
      el('div', { class: 'gpus' }, ...host.gpus.map((g) => gpuCell(host, g))));
  }

  function legend(hosts) {
    const tenants = new Set();
    hosts.forEach((h) => h.gpus.forEach((g) => g.tenant && tenants.add(g.tenant)));
    const swatch = (cls, label, colour) => {
      const s = el('span', { class: 'swatch ' + cls });
      if (colour) s.style.backgroundColor = colour;
      return el('span', { class: 'key' }, s, label);
    };
    return [swatch('free', 'free'), swatch('unhealthy', 'unhealthy'),
      ...[...tenants].sort().map((t) => swatch('allocated', t, GF.tenantColour(t)))];
  }

  function render(board) {
    GF.replaceRows(document.querySelector('#models tbody'), board.models.map((m) => el('tr', { 'data-model': m.model },
      el('td', {}, m.model), el('td', {}, m.hosts), el('td', {}, m.total), el('td', {}, m.free),
      el('td', {}, m.allocated), el('td', { class: m.unhealthy > 0 ? 'bad' : null }, m.unhealthy))));
    document.getElementById('legend').replaceChildren(...legend(board.hosts));
    document.getElementById('hosts').replaceChildren(...board.hosts.map(hostRow));
  }

  GF.poll('/dashboard/data/fleet', render);
})();
