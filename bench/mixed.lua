-- 95% article reads, 5% comment posts.
local articles = tonumber(os.getenv("BENCH_ARTICLES") or "1000")
local n = 0
request = function()
  n = n + 1
  local slug = "bench-article-" .. math.random(1, articles)
  if math.random(1, 100) <= 5 then
    local body = string.format(
      '{"author_name":"Load test","author_email":"mix%d@example.org","body":"Mixed comment %d-%d-%d"}',
      n % 1000, id or 0, n, math.random(1, 1e9))
    return wrk.format("POST", "/api/v1/articles/" .. slug .. "/comments",
      {["Content-Type"] = "application/json"}, body)
  end
  return wrk.format("GET", "/api/v1/articles/" .. slug)
end
