-- wrk script for bench/reliability.sh: POSTs the Change in Manager fixture with a fresh
-- externalEventId on every request (as bench/store.lua does) and writes the message id
-- (SAP_MessageProcessingLogID) of every answer that acknowledged its call (200) to a file, one
-- line each: the client's own list of what it was told was accepted, to look for in the log after
-- a crash. Answers that are not 200 are counted by status, and their first fault text kept.
--
--   wrk ... -s bench/acked.lua URL -- FIXTURE PREFIX "Basic ..." ACKED_FILE REFUSED_FILE
--
-- ACKED_FILE gets one message id a line (line-buffered, so a kill of wrk loses none);
-- REFUSED_FILE one line per answer that was not 200: its status and its faultstring or text.
local before, after
local counter = 0
local prefix = ""
local acked, refused
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
  acked = assert(io.open(args[4], "a"))
  acked:setvbuf("line")
  refused = assert(io.open(args[5], "a"))
  refused:setvbuf("line")
end

function request()
  counter = counter + 1
  local id = string.format("rel-%s-%09d", prefix, counter)
  return wrk.format(nil, nil, nil, before .. id .. after)
end

function response(status, headers, body)
  if status == 200 then
    local id = headers["sap_messageprocessinglogid"] or headers["SAP_MessageProcessingLogID"]
    acked:write((id or "-"), "\n")
  else
    local text = body:match("<faultstring>(.-)</faultstring>")
      or body:match("<soap:Text[^>]*>(.-)</soap:Text>")
      or body:sub(1, 200)
    refused:write(status, " ", (text:gsub("\n", " ")), "\n")
  end
end
