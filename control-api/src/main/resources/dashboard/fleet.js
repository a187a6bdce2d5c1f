'use strict';
// The fleet at a glance: totals per model, and each host as a row of its GPUs coloured by state.
// Rows and cells are kept and updated in place between polls, so a tooltip being read stays open.
(() => {
  const { el } = GF;
  const rows = new Map(); // host name -> { row, badge, gpus, cells: Map(uuid -> cell) }

  function set(node, attr, value) {
    if (value === null || value === undefined) node.removeAttribute(attr);
    else if (node.getAttribute(attr) !== String(value)) node.setAttribute(attr, value);
  }

  function gpuTitle(g) {
    const lines = ['GPU ' + g.index + ' · ' + g.model, g.uuid];
    if (g.state === 'unhealthy') lines.push('unhealthy: ' + (g.reason || 'no reason given'));
    else if (g.state === 'allocated') lines.push('allocated to ' + g.tenant);
    else lines.push('free');
    lines.push('utilization ' + GF.unit(g.utilization, ' %') + ', memory ' + GF.bytes(g.memoryUsedBytes) + ' of '
      + GF.bytes(g.memoryTotalBytes) + ', ' + GF.unit(g.temperatureC, ' °C') + ', ' + GF.watts(g.powerMilliwatts));
    return lines.join('\n');
  }

  function newCell(host, g) {
    return el('a', { href: '/dashboard/hosts/' + encodeURIComponent(host.name), 'data-uuid': g.uuid },
      el('span', { class: 'level' }), el('span', { class: 'index' }), el('span', { class: 'who' }));
  }

  function updateCell(cell, g) {
    set(cell, 'class', 'gpu ' + g.state);
    set(cell, 'data-state', g.state);
    set(cell, 'data-tenant', g.tenant);
    set(cell, 'title', gpuTitle(g));
    const [level, index, who] = cell.children;
    level.style.height = Math.max(0, Math.min(100, g.utilization || 0)) + '%';
    index.textContent = g.index;
    who.textContent = g.state === 'allocated' ? g.tenant : g.state === 'unhealthy' ? '!' : '';
    cell.style.backgroundColor = g.state === 'allocated' ? GF.tenantColour(g.tenant) : '';
  }

  function newRow(host) {
    const badge = el('span', {});
    const gpus = el('div', { class: 'gpus' });
    const row = el('div', { class: 'host', 'data-host': host.name },
      el('a', { class: 'host-name', href: '/dashboard/hosts/' + encodeURIComponent(host.name) }, host.name), badge, gpus);
    return { row, badge, gpus, cells: new Map() };
  }

  function updateRow(entry, host) {
    set(entry.row, 'data-state', host.state);
    set(entry.badge, 'class', 'badge ' + host.state);
    entry.badge.textContent = host.state;
    const wanted = host.gpus.map((g) => {
      const cell = entry.cells.get(g.uuid) || newCell(host, g);
      entry.cells.set(g.uuid, cell);
      updateCell(cell, g);
      return cell;
    });
    place(entry.gpus, wanted);
    const kept = new Set(host.gpus.map((g) => g.uuid));
    [...entry.cells.keys()].filter((uuid) => !kept.has(uuid)).forEach((uuid) => entry.cells.delete(uuid));
  }

  // Makes parent's children exactly `wanted`, in order, moving only what is out of place.
  function place(parent, wanted) {
    wanted.forEach((node, i) => {
      if (parent.children[i] !== node) parent.insertBefore(node, parent.children[i] || null);
    });
    while (parent.children.length > wanted.length) parent.lastElementChild.remove();
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
    const wanted = board.hosts.map((h) => {
      const entry = rows.get(h.name) || newRow(h);
      rows.set(h.name, entry);
      updateRow(entry, h);
      return entry.row;
    });
    place(document.getElementById('hosts'), wanted);
    const kept = new Set(board.hosts.map((h) => h.name));
    [...rows.keys()].filter((name) => !kept.has(name)).forEach((name) => rows.delete(name));
  }

  GF.poll('/dashboard/data/fleet', render);
})();
