-- wrk script for the load test of `runbox serve` (tests/serve/test_load.py).
-- Every request POSTs one contract request; each thread stops after
-- RB_REQUESTS_PER_THREAD responses of which RB_MIN_OK_PER_THREAD ran;
-- done() prints one line
--   RESULT 200=N 503=N bad=N connect=N read=N write=N timeout=N
-- where "bad" counts a 200 that is not a clean run of the program or a 503
-- that is not the contract's "busy" error.
wrk.method = "POST"
wrk.body = os.getenv("RB_BODY") or '{"script":"print(1)"}'
wrk.headers["Content-Type"] = "application/json"

local threads = {}
local limit = tonumber(os.getenv("RB_REQUESTS_PER_THREAD") or "1000")
-- 503s come back in microseconds, runs in tens of milliseconds: a thread
-- also waits for this many runs, so that an overload run still runs programs.
local min_ok = tonumber(os.getenv("RB_MIN_OK_PER_THREAD") or "0")

-- After a 503 a thread waits this long before its next request: a client
-- that honours Retry-After (scaled down), so that the 503s do not starve
-- the runs of the CPU.
local busy_delay = tonumber(os.getenv("RB_BUSY_DELAY_MS") or "0")
-- wrk's main thread sleeps the whole -d duration: each thread leaves a file
-- in RB_DONE_DIR when it has its count, and the test then sends SIGINT.
local done_dir = os.getenv("RB_DONE_DIR")

function setup(thread)
  table.insert(threads, thread)
  thread:set("id", #threads)
end

function init(args)
  counts = {}
  seen = 0
  last = 0
  finished = false
end

function delay()
  if last == 503 then
    return busy_delay
  end
  return 0
end

local function add(k)
  counts[k] = (counts[k] or 0) + 1
end

function response(status, headers, body)
  if finished then
    return
  end
  last = status
  seen = seen + 1
  add(tostring(status))
  if status == 200 and not body:find('"exit_code":0,"stdout":"1\\n"', 1, true) then
    add("bad")
  elseif status == 503 and not (body:find('"code":"busy"', 1, true) and headers["Retry-After"]) then
    add("bad")
  end
  if seen >= limit and (counts["200"] or 0) >= min_ok then
    finished = true
    if done_dir then
      local f = io.open(done_dir .. "/" .. id, "w")
      f:close()
    end
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local total = {}
  for _, t in ipairs(threads) do
    for k, v in pairs(t:get("counts")) do
      total[k] = (total[k] or 0) + v
    end
  end
  local parts = {"RESULT"}
  for k, v in pairs(total) do
    table.insert(parts, k .. "=" .. v)
  end
  local e = summary.errors
  table.insert(parts, "connect=" .. e.connect)
  table.insert(parts, "read=" .. e.read)
  table.insert(parts, "write=" .. e.write)
  table.insert(parts, "timeout=" .. e.timeout)
  table.insert(parts, "p50_us=" .. latency:percentile(50))
  table.insert(parts, "p99_us=" .. latency:percentile(99))
  io.write(table.concat(parts, " ") .. "\n")
end
