-- wrk script: POST /api/v1/access-checks with the API key in wrk.headers,
-- each a batch of 10 checks about members listed in $ROSTER_TARGETS
-- (modules and levels rotating, half in the workspace $ROSTER_WORKSPACE).
-- Counts non-200 answers as errors.
local targets = {}
for line in io.lines(os.getenv("ROSTER_TARGETS")) do
  if #line > 0 then targets[#targets + 1] = line end
end
local workspace = os.getenv("ROSTER_WORKSPACE")
local modules = { "members", "products", "campaigns", "reports", "audit_log" }
local levels = { "read", "write" }
counter = 0
id = id or 0

request = function()
  local checks = {}
  for i = 1, 10 do
    counter = counter + 1
    local target = targets[((counter + id * 7919) % #targets) + 1]
    local module = modules[(counter % #modules) + 1]
    local level = levels[(counter % 2) + 1]
    local where = ""
    if counter % 2 == 0 then where = ',"workspace_id":"' .. workspace .. '"' end
    checks[i] = '{"member_id":"' .. target .. '","module":"' .. module .. '","level":"' .. level .. '"' .. where .. '}'
  end
  local headers = { ["Content-Type"] = "application/json" }
  for name, value in pairs(wrk.headers) do headers[name] = value end
  return wrk.format("POST", "/api/v1/access-checks", headers, '{"checks":[' .. table.concat(checks, ",") .. ']}')
end

local threads = {}
setup = function(thread)
  thread:set("id", #threads)
  threads[#threads + 1] = thread
end

bad = 0
response = function(status, headers, body)
  if status ~= 200 then bad = bad + 1 end
end

done = function(summary, latency, requests)
  local errors = 0
  for _, thread in ipairs(threads) do errors = errors + thread:get("bad") end
  io.write(string.format("Non-200 answers: %d\n", errors))
end
