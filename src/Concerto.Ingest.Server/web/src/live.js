// One server-sent event stream per page (/api/events): listeners get the runs and training runs that changed.
const listeners = { runs: new Set(), training: new Set() };
let source;

export function connect(indicator) {
  const since = new Date().toISOString();
  source = new EventSource(`/api/events?since=${encodeURIComponent(since)}`);
  source.addEventListener("hello", () => { indicator.textContent = "live"; indicator.classList.add("on"); });
  source.onerror = () => { indicator.textContent = "reconnecting"; indicator.classList.remove("on"); };
  for (const kind of Object.keys(listeners))
    source.addEventListener(kind, (e) => { const rows = JSON.parse(e.data); for (const l of listeners[kind]) l(rows); });
}

/** Calls listener(rows) on each `kind` event until the returned function is called. */
export function subscribe(kind, listener) {
  listeners[kind].add(listener);
  return () => listeners[kind].delete(listener);
}
