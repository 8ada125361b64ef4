-- wrk script for bench/gateway.py: one OpenAI chat completion, the same on every request.
--
--   wrk -t1 -c16 -d8s -s bench/gateway.lua http://127.0.0.1:PORT \
--     -- /openai/v1/chat/completions stream|whole "Authorization: Bearer KEY" ["Name: value" ...]
--
-- args[1] is the path (each target mounts the OpenAI API somewhere else), args[2]
-- "stream" (stream=true with stream_options.include_usage) or "whole" (non-streaming),
-- and every further argument one extra request header. Nothing runs per request in
-- Lua (no request() or response() hook), so wrk stays cheap. done() prints one JSON
-- line (prefixed "BENCH ") with the counts and latency percentiles (microseconds).
-- wrk's latency is to the end of the response: for a stream, its last chunk.

local PROMPT = "Summarise our refund policy for annual plans in one sentence."

function init(args)
  local path, mode = args[1], args[2]
  if path == nil or (mode ~= "stream" and mode ~= "whole") then
    error("bench/gateway.lua: pass -- PATH stream|whole [\"Header: value\" ...]")
  end
  local stream = ""
  if mode == "stream" then
    stream = '"stream":true,"stream_options":{"include_usage":true},'
  end
  wrk.method = "POST"
  wrk.path = path
  wrk.body = '{"model":"gpt-4o-mini","max_completion_tokens":16,' .. stream
    .. '"messages":[{"role":"user","content":"' .. PROMPT .. '"}]}'
  wrk.headers["Content-Type"] = "application/json"
  for i = 3, #args do
    local name, value = args[i]:match("^([^:]+):%s*(.*)$")
    if name == nil then
      error("bench/gateway.lua: bad header argument " .. args[i])
    end
    wrk.headers[name] = value
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
