-- GET one article, a different slug each time, over the whole archive (each wrk thread draws
-- its own sequence: report.lua).
local articles = tonumber(os.getenv("BENCH_ARTICLES") or "1000")
request = function()
  return wrk.format("GET", "/api/v1/articles/bench-article-" .. math.random(1, articles))
end
