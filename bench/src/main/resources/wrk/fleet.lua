-- Load for the inventory benchmark: each request is an inventory report from a random host of
-- the simulated fleet, authenticated with that host's own token. (Heartbeats have their own
-- benchmark, at the production cadence: HeartbeatBench.)
-- Environment: FLEET_HOSTS (file of "id token model" lines), FLEET_GPUS.
local hosts = {}
local gpus = tonumber(os.getenv("FLEET_GPUS") or "8")
local generation = 0

function init(args)
  for line in io.lines(os.getenv("FLEET_HOSTS")) do
    local id, token, model = line:match("^(%S+) (%S+) (.+)$")
    hosts[#hosts + 1] = { id = id, token = token, model = model }
  end
  math.randomseed(os.time() + tonumber(tostring(args):match("0x(%x+)") or "0", 16) % 100000)
  -- Later reports must carry higher generations: start from the clock, count up.
  generation = os.time() * 100000 + math.random(0, 999)
end

local function report(h)
  generation = generation + 1000
  local list = {}
  for g = 0, gpus - 1 do
    list[#list + 1] = string.format(
      '{"uuid":"GPU-%s-%d","index":%d,"name":"%s","memoryTotalBytes":51527024640,' ..
      '"memoryUsedBytes":%d,"numaNode":%d,"healthy":true,"utilizationGpu":%d,"temperatureC":%d,"powerMilliwatts":90000}',
      h.id, g, g, h.model, 1073741824 + math.random(0, 1000000), math.floor(g / 4), math.random(0, 100), 35 + math.random(0, 40))
  end
  return string.format('{"generation":%d,"driverVersion":"550.127.05","cudaVersion":"12.4",' ..
    '"resources":{"cpuMillis":64000,"memoryBytes":274877906944,"allocatableCpuMillis":63000,' ..
    '"allocatableMemoryBytes":269892665344},"gpus":[%s]}', generation, table.concat(list, ","))
end

function request()
  local h = hosts[math.random(1, #hosts)]
  local headers = { ["Authorization"] = "Bearer " .. h.token, ["Content-Type"] = "application/json" }
  return wrk.format("PUT", "/v1/hosts/" .. h.id .. "/inventory", headers, report(h))
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT requests=%d seconds=%.3f p50=%.3f p99=%.3f errors=%d\n",
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    e.connect + e.read + e.write + e.status + e.timeout))
end
