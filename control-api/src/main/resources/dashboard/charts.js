'use strict';
// Line charts drawn as inline SVG: a time axis, a value axis from zero, one line per series.
// A null value breaks its line; a lone point between gaps is drawn as a dot.
GF.lineChart = (() => {
  const NS = 'http://www.w3.org/2000/svg';
  const W = 560, H = 220, LEFT = 64, RIGHT = 12, TOP = 12, BOTTOM = 28;
  const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#17becf'];

  function svg(tag, attrs, text) {
    const node = document.createElementNS(NS, tag);
    for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // The axis top: the next of 1, 2, 4, 8 times a power of ten at or above v, so that its quarters
  // (the ticks) are round numbers.
  function roundUp(v) {
    if (v <= 0) return 1;
    const power = 10 ** Math.floor(Math.log10(v));
    const step = [1, 2, 4, 8, 10].find((f) => f * power >= v);
    return step * power;
  }

  function clock(ms) {
    const d = new Date(ms);
    return String(d.getHours()).padStart(2, '0') + ':' + String(d.getMinutes()).padStart(2, '0');
  }

  // Segments of consecutive non-null points, as [[x, y], ...] in chart coordinates.
  function segments(times, values, x, y) {
    const out = [];
    let current = [];
    values.forEach((v, i) => {
      if (v === null || v === undefined) {
        if (current.length) out.push(current);
        current = [];
      } else {
        current.push([x(times[i]), y(v)]);
      }
    });
    if (current.length) out.push(current);
    return out;
  }

  // figure: the <figure> to fill; chart: {title, times, series: [{label, values, colour?}], format,
  // since? (where the time axis starts), max? (a fixed top), counts? (ticks on whole numbers)}
  function draw(figure, chart) {
    const { times, series } = chart;
    const t0 = chart.since || (times.length ? times[0] : Date.now() - 3600e3);
    const t1 = times.length && times[times.length - 1] > t0 ? times[times.length - 1] : t0 + 60e3;
    const dataMax = Math.max(0, ...series.flatMap((s) => s.values.filter((v) => v !== null && v !== undefined)));
    const top = chart.max || (chart.counts ? Math.max(4, Math.ceil(dataMax / 4) * 4) : roundUp(dataMax));
    const x = (t) => LEFT + ((t - t0) / (t1 - t0)) * (W - LEFT - RIGHT);
    const y = (v) => H - BOTTOM - (v / top) * (H - TOP - BOTTOM);

    const root = svg('svg', { viewBox: '0 0 ' + W + ' ' + H, class: 'chart-svg', role: 'img',
      'aria-label': chart.title, 'data-points': String(times.length), 'data-times': times.join(',') });
    for (let i = 0; i <= 4; i++) {
      const v = (top * i) / 4;
      root.append(svg('line', { class: 'grid', x1: LEFT, x2: W - RIGHT, y1: y(v), y2: y(v) }),
        svg('text', { class: 'tick', x: LEFT - 6, y: y(v) + 4, 'text-anchor': 'end' }, chart.format(v)));
    }
    for (let i = 0; i <= 4; i++) {
      const t = t0 + ((t1 - t0) * i) / 4;
      const anchor = i === 0 ? 'start' : i === 4 ? 'end' : 'middle';
      root.append(svg('text', { class: 'tick', x: x(t), y: H - 8, 'text-anchor': anchor }, clock(t)));
    }
    series.forEach((s, n) => {
      const colour = s.colour || PALETTE[n % PALETTE.length];
      // The values drawn, as data: what a reader of the page (or a test) can check the lines against.
      const group = svg('g', { class: 'series', 'data-label': s.label, stroke: colour, fill: colour,
        'data-values': s.values.map((v) => (v === null || v === undefined ? '' : v)).join(',') });
      for (const seg of segments(times, s.values, x, y)) {
        if (seg.length === 1) {
          group.append(svg('circle', { cx: seg[0][0], cy: seg[0][1], r: 2.5 }));
        } else {
          group.append(svg('path', { d: 'M' + seg.map((p) => p[0].toFixed(1) + ' ' + p[1].toFixed(1)).join(' L'),
            fill: 'none', 'stroke-width': 1.8 }));
        }
      }
      root.append(group);
    });

    const legend = GF.el('div', { class: 'chart-legend' }, ...series.map((s, n) => {
      const swatch = GF.el('span', { class: 'swatch' });
      swatch.style.backgroundColor = s.colour || PALETTE[n % PALETTE.length];
      return GF.el('span', { class: 'key' }, swatch, s.label);
    }));
    figure.replaceChildren(GF.el('figcaption', {}, chart.title), root, legend);
  }

  return draw;
})();
