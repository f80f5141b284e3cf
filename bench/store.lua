-- wrk script for bench/store.sh: POSTs the Change in Manager fixture with a fresh
-- externalEventId on every request, so the message log records new messages (not duplicates).
local template
local counter = 0
local prefix = ""

function init(args)
  local file = assert(io.open(args[1], "rb"))
  template = file:read("*a")
  file:close()
  prefix = args[2] or ""
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "text/xml; charset=utf-8"
  wrk.headers["Authorization"] = args[3]
end

function request()
  counter = counter + 1
  local id = string.format("bench-%s-%09d", prefix, counter)
  local body = template:gsub("5e6c2a7d%-8f1b%-4c39%-9d0e%-7a4b3c2d1e0f", id)
  return wrk.format(nil, nil, nil, body)
end

function response(status, headers, body)
  if status ~= 200 then
    io.stderr:write("unexpected status " .. status .. "\n")
  end
end
