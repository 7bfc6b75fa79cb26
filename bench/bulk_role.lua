-- wrk script: one bulk role change of 50 members per request (the review
-- step skipped: confirm=yes), alternating between Member and Viewer; each
-- thread works on its own members. Counts non-200 answers as errors.
local org = os.getenv("ROSTER_ORG")
local csrf = os.getenv("ROSTER_CSRF")
local targets = {}
for line in io.lines(os.getenv("ROSTER_TARGETS")) do
  if #line > 0 then targets[#targets + 1] = line end
end
local BATCH = 50
counter = 0
id = id or 0

request = function()
  counter = counter + 1
  -- Each thread owns half of the list, in batches of 50.
  local half = math.floor(#targets / 2)
  local batches = math.floor(half / BATCH)
  local start = id * half + ((counter - 1) % batches) * BATCH
  local role = (math.floor((counter - 1) / batches) % 2 == 0) and "viewer" or "member"
  local body = { "action=role", "role=" .. role, "confirm=yes" }
  for i = 1, BATCH do body[#body + 1] = "member=" .. targets[start + i] end
  local headers = { ["Content-Type"] = "application/x-www-form-urlencoded", ["X-CSRF-Token"] = csrf }
  for name, value in pairs(wrk.headers) do headers[name] = value end
  return wrk.format("POST", "/orgs/" .. org .. "/members/bulk", headers, table.concat(body, "&"))
end

local threads = {}
setup = function(thread)
  thread:set("id", #threads)
  threads[#threads + 1] = thread
end

bad = 0
response = function(status, headers, body)
  if status ~= 200 or not string.find(body, "50 done", 1, true) then bad = bad + 1 end
end

done = function(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do total = total + thread:get("bad") end
  io.write(string.format("Non-200 or partly refused answers: %d\n", total))
end
