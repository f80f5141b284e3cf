-- wrk script for bench/e2e.sh, bench/chain.sh and bench/tls.sh: POST a body with an
-- Authorization header and count the answers that are not 200.
--
--   BENCH_BODY          the request body file (default fixtures/change-in-manager.xml)
--   BENCH_CONTENT_TYPE  its Content-Type (default text/xml; charset=utf-8)
--   BENCH_AUTH          the whole Authorization header value ("Basic ..." or "Bearer ...")
--
-- wrk runs this file in one Lua state per thread (plus one for setup/done): each thread counts
-- in its own global, and done() adds them up and prints the lines the scripts check:
--   non-200 responses: N of M
--   socket errors: connect N, read N, write N, timeout N

local file = assert(io.open(os.getenv("BENCH_BODY") or "fixtures/change-in-manager.xml", "rb"))
wrk.method = "POST"
wrk.body = file:read("*a")
file:close()
wrk.headers["Content-Type"] = os.getenv("BENCH_CONTENT_TYPE") or "text/xml; charset=utf-8"
wrk.headers["Authorization"] = assert(os.getenv("BENCH_AUTH"), "BENCH_AUTH is not set")

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

non200 = 0

function response(status, headers, body)
  if status ~= 200 then
    non200 = non200 + 1
  end
end

function done(summary, latency, requests)
  local bad = 0
  for _, thread in ipairs(threads) do
    bad = bad + thread:get("non200")
  end
  local e = summary.errors
  io.write(string.format("non-200 responses: %d of %d\n", bad, summary.requests))
  io.write(string.format("socket errors: connect %d, read %d, write %d, timeout %d\n",
    e.connect, e.read, e.write, e.timeout))
end
