-- Shared by every scenario (run.sh and soak.sh append it to the scenario's script).

-- Each wrk thread gets an id (`id`, used in comment bodies) and its own random seed: with one
-- seed in both, one thread would ask for what the other just read, and at 100,000 articles half
-- the "uncached" article reads would find it in the server's cache.
local thread = 0
setup = function(t) thread = thread + 1; t:set("id", thread) end
init = function() math.randomseed(os.time() + (id or 0)) end

-- Prints one JSON line with the run's figures when wrk is done.
function done(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.status + summary.errors.timeout
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"rps":%.1f,"p50_ms":%.3f,"p99_ms":%.3f,"errors":%d,"status_errors":%d}\n',
    summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, errors, summary.errors.status))
end
