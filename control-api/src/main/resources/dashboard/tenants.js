'use strict';
// Every tenant with the GPUs it holds now, linking to its usage over time.
(() => {
  const { el } = GF;

  function render(body) {
    GF.replaceRows(document.querySelector('#tenants tbody'), body.tenants.map((t) => {
      const byModel = Object.entries(t.gpusByModel);
      const total = byModel.reduce((sum, [, n]) => sum + n, 0);
      return el('tr', { 'data-tenant': t.name },
        el('td', {}, el('a', { href: '/dashboard/tenants/' + encodeURIComponent(t.name) }, t.name),
          t.disabled ? el('span', { class: 'badge lost' }, 'disabled') : null),
        el('td', {}, total),
        el('td', {}, byModel.map(([model, n]) => n + ' × ' + model).join(', ') || '–'));
    }));
  }

  GF.poll('/dashboard/data/tenants', render);
})();
