-- Replays requests from the file named by $BENCH_REQUESTS, one a line:
--   METHOD <tab> PATH <tab> header: value|header: value <tab> BODY
-- With $BENCH_ONCE=1 each line is sent once (single-use codes and tokens) and the thread stops
-- when the file is used up; otherwise the lines are cycled. Run with one thread (-t1).
-- done() prints one JSON line with the counts and the latency percentiles (microseconds).
local requests = {}
local index = 0
local once = os.getenv("BENCH_ONCE") == "1"

local function split(s, sep)
  local out = {}
  for part in (s .. sep):gmatch("(.-)" .. sep:gsub("%p", "%%%0")) do table.insert(out, part) end
  return out
end

init = function(args)
  for line in io.lines(os.getenv("BENCH_REQUESTS")) do
    local f = split(line, "\t")
    local headers = {}
    if f[3] and f[3] ~= "" then
      for _, h in ipairs(split(f[3], "|")) do
        local k, v = h:match("^([^:]+):%s*(.*)$")
        headers[k] = v
      end
    end
    local body = f[4]
    if body == "" then body = nil end
    table.insert(requests, wrk.format(f[1], f[2], headers, body))
  end
end

request = function()
  index = index + 1
  if index > #requests then
    if once then
      wrk.thread:stop()
      return requests[#requests]
    end
    index = 1
  end
  return requests[index]
end

done = function(summary, latency, requests_)
  io.write(string.format(
    'BENCH_RESULT {"requests":%d,"duration_us":%d,"status_errors":%d,"socket_errors":%d,' ..
    '"p50_us":%d,"p99_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(99), latency.mean))
end
