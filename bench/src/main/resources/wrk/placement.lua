-- Load for the placement benchmark: each request is a new 1-GPU pod (a fresh pod UID) for one tenant.
-- Environment: PLACE_TOKEN (the tenant's token), PLACE_OFFERING.
local token = os.getenv("PLACE_TOKEN")
local offering = os.getenv("PLACE_OFFERING")
local prefix = ""
local counter = 0

function init(args)
  math.randomseed(os.time() + tonumber(tostring(args):match("0x(%x+)") or "0", 16) % 100000)
  prefix = string.format("%08x", math.random(0, 0x7fffffff))
end

function request()
  counter = counter + 1
  local body = string.format('{"podUid":"%s-%d","namespace":"bench","name":"p-%s-%d","offering":"%s",' ..
    '"containers":[{"name":"main","image":"gpufleet/busybox:test","resources":{"gpus":1,"cpu":"1","memory":"1Gi"}}]}',
    prefix, counter, prefix, counter, offering)
  return wrk.format("POST", "/v1/tenants/bench/workloads",
    { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json" }, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT requests=%d seconds=%.3f p50=%.3f p99=%.3f errors=%d\n",
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    e.connect + e.read + e.write + e.status + e.timeout))
end
