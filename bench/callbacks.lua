-- wrk script for bench/callbacks.py: pre-signed Twilio status callbacks, one file per thread
-- (a line is "signature<TAB>form body"). A duplicate follows its original directly, so the two
-- go out on different connections at the same moment.
local threads = {}
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  lines = {}
  for line in io.lines(string.format("%s/thread-%d.txt", os.getenv("BENCH_DIR"), id)) do
    lines[#lines + 1] = line
  end
  nlines = #lines
  path = os.getenv("BENCH_PATH")
  sent = 0
end

request = function()
  sent = sent + 1
  local line = lines[((sent - 1) % #lines) + 1]
  local tab = line:find("\t", 1, true)
  local headers = {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["X-Twilio-Signature"] = line:sub(1, tab - 1),
  }
  return wrk.format("POST", path, headers, line:sub(tab + 1))
end

done = function(summary, latency, requests)
  for _, thread in ipairs(threads) do
    io.write(string.format("SENT thread=%d count=%d lines=%d\n", thread:get("id"), thread:get("sent"),
      thread:get("nlines")))
  end
  io.write(string.format("RESULT requests=%d duration_us=%d errors=%d non2xx=%d p50_us=%d p99_us=%d\n",
    summary.requests, summary.duration,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status, latency:percentile(50), latency:percentile(99)))
end
