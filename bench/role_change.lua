-- wrk script: POST role changes to members listed in $ROSTER_TARGETS,
-- alternating between Member and Viewer. Counts non-303 answers as errors.
local org = os.getenv("ROSTER_ORG")
local csrf = os.getenv("ROSTER_CSRF")
local targets = {}
for line in io.lines(os.getenv("ROSTER_TARGETS")) do
  if #line > 0 then targets[#targets + 1] = line end
end
counter = 0
-- Set by setup() for each thread; kept if setup ran before this line.
id = id or 0

request = function()
  counter = counter + 1
  local target = targets[((counter + id * math.floor(#targets / 2)) % #targets) + 1]
  local role = (math.floor(counter / #targets) % 2 == 0) and "viewer" or "member"
  -- Custom headers replace wrk.headers, which carry the session cookie.
  local headers = { ["Content-Type"] = "application/x-www-form-urlencoded", ["X-CSRF-Token"] = csrf }
  for name, value in pairs(wrk.headers) do headers[name] = value end
  return wrk.format("POST", "/orgs/" .. org .. "/members/" .. target .. "/role", headers, "role=" .. role)
end

local threads = {}
setup = function(thread)
  -- Each thread starts at its own place in the list, so two threads do not
  -- change the same member at the same moment (that answers 409 Conflict).
  thread:set("id", #threads)
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
