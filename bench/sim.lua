-- wrk script for bench/sim.py: one non-streaming POST, the same on every request.
--
--   wrk -t1 -c16 -d10s -s bench/sim.lua http://127.0.0.1:PORT -- openai|anthropic
--
-- done() prints one JSON line (prefixed "BENCH ") with the counts and latency
-- percentiles (microseconds) that bench/sim.py reads.

local PROMPT = "Summarise our refund policy for annual plans in one sentence."

local SCENARIOS = {
  openai = {
    path = "/v1/chat/completions",
    headers = { ["Authorization"] = "Bearer sk-bench" },
    body = '{"model":"gpt-4o-mini","max_completion_tokens":16,'
      .. '"messages":[{"role":"user","content":"' .. PROMPT .. '"}]}',
  },
  anthropic = {
    path = "/v1/messages",
    headers = { ["x-api-key"] = "sk-bench", ["anthropic-version"] = "2023-06-01" },
    body = '{"model":"claude-haiku-4-5","max_tokens":16,'
      .. '"messages":[{"role":"user","content":"' .. PROMPT .. '"}]}',
  },
}

function init(args)
  local s = SCENARIOS[args[1]]
  if s == nil then
    error("bench/sim.lua: pass -- openai or -- anthropic")
  end
  wrk.method = "POST"
  wrk.path = s.path
  wrk.body = s.body
  wrk.headers["Content-Type"] = "application/json"
  for k, v in pairs(s.headers) do
    wrk.headers[k] = v
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests":%d,"duration_us":%d,"bytes":%d,'
      .. '"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,'
      .. '"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean
  ))
end
