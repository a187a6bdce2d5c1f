'use strict';
// The fleet at a glance: totals per model, and each host as a row of its GPUs coloured by state.
// Rows and cells are kept and updated in place between polls, so a tooltip being read stays open.
// Cells show state, not telemetry: at fleet scale telemetry would be most of every poll; a host's
// page charts it.
// The first poll gets every host; each later one sends back the cursor it was given and gets only
// the hosts changed since (a whole board again if the server finds the cursor too old). A cursor
// the server refuses (one from another fleet's database, or from before a restore) is dropped,
// so the next poll loads the whole board.
(() => {
  const { el } = GF;
  const TROUBLED = new Set(['not-ready', 'lost']);
  const hosts = new Map(); // host id -> the host as last sent
  const rows = new Map(); // host id -> { row, badge, gpus, cells: Map(uuid -> cell) }
  let cursor = null;

  function set(node, attr, value) {
    if (value === null || value === undefined) node.removeAttribute(attr);
    else if (node.getAttribute(attr) !== String(value)) node.setAttribute(attr, value);
  }

  function gpuTitle(g) {
    const lines = ['GPU ' + g.index + ' · ' + g.model, g.uuid];
    if (g.state === 'unhealthy') lines.push('unhealthy: ' + (g.reason || 'no reason given'));
    else if (g.state === 'allocated') lines.push('allocated to ' + g.tenant);
    else lines.push('free');
    lines.push('telemetry on the host\'s page');
    return lines.join('\n');
  }

  function newCell(host, g) {
    return el('a', { href: '/dashboard/hosts/' + encodeURIComponent(host.name), 'data-uuid': g.uuid },
      el('span', { class: 'index' }), el('span', { class: 'who' }));
  }

  function updateCell(cell, g) {
    set(cell, 'class', 'gpu ' + g.state);
    set(cell, 'data-state', g.state);
    set(cell, 'data-tenant', g.tenant);
    set(cell, 'title', gpuTitle(g));
    const [index, who] = cell.children;
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

  function legend() {
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

  // Hosts that need someone's attention first, then by name.
  function order(a, b) {
    const ta = TROUBLED.has(a.state) ? 0 : 1;
    const tb = TROUBLED.has(b.state) ? 0 : 1;
    return ta - tb || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  }

  function render(board) {
    GF.replaceRows(document.querySelector('#models tbody'), board.summary.models.map((m) => el('tr', { 'data-model': m.model },
      el('td', {}, m.model), el('td', {}, m.hosts), el('td', {}, m.total), el('td', {}, m.free),
      el('td', {}, m.allocated), el('td', { class: m.unhealthy > 0 ? 'bad' : null }, m.unhealthy))));
    cursor = board.cursor;
    if (board.full) hosts.clear();
    else if (board.hosts.length === 0) return;
    board.hosts.forEach((h) => {
      hosts.set(h.id, h);
      const entry = rows.get(h.id) || newRow(h);
      rows.set(h.id, entry);
      updateRow(entry, h);
    });
    [...rows.keys()].filter((id) => !hosts.has(id)).forEach((id) => rows.delete(id));
    place(document.getElementById('hosts'), [...hosts.values()].sort(order).map((h) => rows.get(h.id).row));
    document.getElementById('legend').replaceChildren(...legend());
  }

  GF.poll(() => '/dashboard/data/fleet' + (cursor ? '?since=' + encodeURIComponent(cursor) : ''), render,
    (status) => { if (status === 400) cursor = null; });
})();
