'use strict';
// Shared by the dashboard's pages: polling the JSON feed, building elements, formatting numbers.
const GF = (() => {
  const POLL_MS = 2000;

  // Fetches url every two seconds and hands the JSON to render. A 401 means the session ended:
  // back to the login page. Other failures go to refused (when given) with their status, are
  // shown in the header, and retried.
  function poll(url, render, refused) {
    const status = document.getElementById('updated');
    async function once() {
      try {
        const response = await fetch(typeof url === 'function' ? url() : url,
          { credentials: 'same-origin', cache: 'no-store' });
        if (response.status === 401) {
          window.location.assign('/dashboard/login');
          return;
        }
        const body = await response.json();
        if (!response.ok) {
          if (refused) refused(response.status);
          throw new Error(body.message || response.statusText);
        }
        render(body);
        status.textContent = 'updated ' + new Date().toLocaleTimeString();
        status.classList.remove('stale');
      } catch (e) {
        status.textContent = 'not updating: ' + e.message;
        status.classList.add('stale');
      }
      setTimeout(once, POLL_MS);
    }
    once();
  }

  // el('td', {class: 'x', title: 'y'}, 'text', otherNode): text always goes in as text, never HTML.
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value !== null && value !== undefined) {
        node.setAttribute(key, value);
      }
    }
    for (const child of children) {
      if (child !== null && child !== undefined) {
        node.append(child instanceof Node ? child : String(child));
      }
    }
    return node;
  }

  function replaceRows(tbody, rows) {
    tbody.replaceChildren(...rows);
  }

  function bytes(n) {
    if (n === null || n === undefined) return '–';
    const gib = n / 1024 ** 3;
    return gib >= 1 ? gib.toFixed(1) + ' GiB' : (n / 1024 ** 2).toFixed(0) + ' MiB';
  }

  function watts(mw) {
    return mw === null || mw === undefined ? '–' : (mw / 1000).toFixed(0) + ' W';
  }

  function unit(value, suffix) {
    return value === null || value === undefined ? '–' : value + suffix;
  }

  // A stable colour per tenant, so one tenant's GPUs look alike across hosts and pages.
  function tenantColour(tenant) {
    let h = 0;
    for (const ch of tenant) {
      h = (h * 31 + ch.codePointAt(0)) % 360;
    }
    return 'hsl(' + ((h * 47) % 360) + ', 55%, 45%)';
  }

  // The last path segment of the page's URL: the host or tenant the page is about.
  function pathSubject() {
    const parts = window.location.pathname.split('/').filter(Boolean);
    return decodeURIComponent(parts[parts.length - 1]);
  }

  return { poll, el, replaceRows, bytes, watts, unit, tenantColour, pathSubject };
})();
