-- POST a comment with a body no one posted before, on a random article.
local articles = tonumber(os.getenv("BENCH_ARTICLES") or "1000")
local n = 0
request = function()
  n = n + 1
  local body = string.format(
    '{"author_name":"Load test","author_email":"load%d@example.org","body":"Bench comment %d-%d-%d"}',
    n % 1000, id or 0, n, math.random(1, 1e9))
  return wrk.format("POST", "/api/v1/articles/bench-article-" .. math.random(1, articles) .. "/comments",
    {["Content-Type"] = "application/json"}, body)
end
