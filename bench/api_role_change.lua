-- wrk script: PATCH /api/v1/members/{id} role changes with the API key in
-- wrk.headers, to members listed in $ROSTER_TARGETS, alternating between
-- Member and Viewer. Counts non-200 answers as errors.
local targets = {}
for line in io.lines(os.getenv("ROSTER_TARGETS")) do
  if #line > 0 then targets[#targets + 1] = line end
end
counter = 0
id = id or 0

request = function()
  counter = counter + 1
  local target = targets[((counter + id * math.floor(#targets / 2)) % #targets) + 1]
  local role = (math.floor(counter / #targets) % 2 == 0) and "viewer" or "member"
  local headers = { ["Content-Type"] = "application/json" }
  for name, value in pairs(wrk.headers) do headers[name] = value end
  return wrk.format("PATCH", "/api/v1/members/" .. target, headers, '{"role":"' .. role .. '"}')
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
  local total = 0
  for _, thread in ipairs(threads) do total = total + thread:get("bad") end
  io.write(string.format("Non-200 answers: %d\n", total))
end
