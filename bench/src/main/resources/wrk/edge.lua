-- Load for the edge benchmark: GET / on the URL's name (the Host header and the TLS server name),
-- connecting to EDGE_ADDR instead of what the name resolves to, so a public name is measured on
-- this machine without DNS, as curl --resolve does.
function wrk.resolve(host, service)
  wrk.addrs = wrk.lookup(os.getenv("EDGE_ADDR"), service)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT requests=%d seconds=%.3f p50=%.3f p99=%.3f errors=%d\n",
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    e.connect + e.read + e.write + e.status + e.timeout))
end
