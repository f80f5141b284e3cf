-- wrk script for bench/store.sh: POSTs the Change in Manager fixture with a fresh
-- externalEventId on every request, so the message log records new messages (not duplicates).
--
-- The fixture is split once around its externalEventId, so a request costs wrk a concatenation,
-- not a pattern substitution over the whole body: at 35,000 requests/s with the store off, the
-- substitution kept wrk's core 93 % busy, close to making wrk the bottleneck.
local before, after
local counter = 0
local prefix = ""
local ORIGINAL_ID = "5e6c2a7d-8f1b-4c39-9d0e-7a4b3c2d1e0f"

function init(args)
  local file = assert(io.open(args[1], "rb"))
  local template = file:read("*a")
  file:close()
  local first, last = template:find(ORIGINAL_ID, 1, true)
  assert(first, "the fixture's externalEventId " .. ORIGINAL_ID .. " is not in " .. args[1])
  before = template:sub(1, first - 1)
  after = template:sub(last + 1)
  prefix = args[2] or ""
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "text/xml; charset=utf-8"
  wrk.headers["Authorization"] = args[3]
end

function request()
  counter = counter + 1
  local id = string.format("bench-%s-%09d", prefix, counter)
  return wrk.format(nil, nil, nil, before .. id .. after)
end

function response(status, headers, body)
  if status ~= 200 then
    io.stderr:write("unexpected status " .. status .. "\n")
  end
end
