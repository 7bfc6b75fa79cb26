-- wrk script: POST role changes to members listed in $ROSTER_TARGETS,
-- alternating between Member and Viewer. Counts non-303 answers as errors.
local org = os.getenv("ROSTER_ORG")
local csrf = os.getenv("ROSTER_CSRF")
local targets = {}
for line in io.lines(os.getenv("ROSTER_TARGETS")) do
  if #line > 0 then targets[#targets + 1] = line end
end
local counter = 0

request = function()
  counter = counter + 1
  local target = targets[(counter % #targets) + 1]
  local role = (math.floor(counter / #targets) % 2 == 0) and "viewer" or "member"
  -- Custom headers replace wrk.headers, which carry the session cookie.
  local headers = { ["Content-Type"] = "application/x-www-form-urlencoded", ["X-CSRF-Token"] = csrf }
  for name, value in pairs(wrk.headers) do headers[name] = value end
  return wrk.format("POST", "/orgs/" .. org .. "/members/" .. target .. "/role", headers, "role=" .. role)
end

local threads = {}
setup = function(thread)
  threads[#threads + 1] = thread
end

bad = 0
response = function(status, headers, body)
  if status ~= 303 then bad = bad + 1 end
end

done = function(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do total = total + thread:get("bad") end
  io.write(string.format("Non-303 answers: %d\n", total))
end
