-- wrk script for scripts/bench: optional upload body (BENCH_UPLOAD_BYTES) and one
-- machine-readable summary line at the end. errors.status counts responses with status
-- >= 400; no response() hook, so wrk never copies bodies into Lua.
local upload = tonumber(os.getenv("BENCH_UPLOAD_BYTES") or "0") or 0
if upload > 0 then
  wrk.method = "POST"
  wrk.body = string.rep("x", upload)
  wrk.headers["Content-Type"] = "application/octet-stream"
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"bytes":%d,"seconds":%f,"p50Ms":%f,"p99Ms":%f,"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}}\n',
    summary.requests, summary.bytes, summary.duration / 1e6,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    e.connect, e.read, e.write, e.status, e.timeout))
end
