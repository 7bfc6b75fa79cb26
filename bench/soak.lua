-- wrk script for bench/soak.sh: a mixed read/write load for a long run.
--
-- Every request takes the next slot of MIX (by the thread's request
-- counter), so the proportions hold exactly over any stretch of 20
-- requests: 15 % members page 1, 15 % search by an email fragment, 10 % a
-- deep members page (by its Next link), 15 % a member's page (with its
-- timeline), 10 % products page 1, 10 % audit log page 1, 5 % /healthz and
-- 20 % role-change POSTs.
--
-- Role changes go to the members in $ROSTER_TARGETS. Each thread owns its
-- own slice of that list and walks it in order, alternating Viewer and
-- Member on each pass, so no two requests in flight ever change the same
-- member (that would legitimately answer 409 Conflict; see
-- members::change_role) as long as a slice is longer than the thread's
-- connections (checked in init).
--
-- An error is any answer other than 200 (GETs) or 303 to the members list
-- (the role change as a plain form POST; a 303 elsewhere, e.g. to /signin,
-- is an error), plus wrk's socket errors and timeouts. done() prints them.
--
-- Environment: ROSTER_ORG, ROSTER_CSRF, ROSTER_TARGETS (file, one
-- membership id a line), ROSTER_MEMBERS (seeded member count, for search
-- fragments), ROSTER_DEEP (query string of the deep page), ROSTER_THREADS
-- and ROSTER_CONNECTIONS (for the slice check).

local org = os.getenv("ROSTER_ORG")
local csrf = os.getenv("ROSTER_CSRF")
local members = tonumber(os.getenv("ROSTER_MEMBERS") or "100000")
local deep = os.getenv("ROSTER_DEEP") or "?page=2"
local nthreads = tonumber(os.getenv("ROSTER_THREADS") or "2")
local nconnections = tonumber(os.getenv("ROSTER_CONNECTIONS") or "64")
local base = "/orgs/" .. org
local members_location = base .. "/members"

local targets = {}
for line in io.lines(os.getenv("ROSTER_TARGETS")) do
  if #line > 0 then targets[#targets + 1] = line end
end

-- One slot per 5 %.
local MIX = {
  "list", "role", "search", "member", "products",
  "role", "deep", "audit", "list", "search",
  "role", "member", "healthz", "products", "list",
  "role", "search", "member", "deep", "audit",
}
local KINDS = { "list", "search", "deep", "member", "products", "audit", "healthz", "role" }

-- Per thread (each wrk thread has its own Lua state). setup() sets id.
id = id or 0
counter = 0
role_counter = 0
slice_first, slice_len = 1, #targets
sent = {}
for _, kind in ipairs(KINDS) do sent[kind] = 0 end
ok_200, ok_303 = 0, 0
bad = 0
bad_list = ""            -- "status:count ..." of the unexpected answers
first_location = ""      -- the first unexpected redirect's Location
local bad_by_status = {}

init = function(args)
  math.randomseed(os.time() * 1000 + id * 7919)
  -- This thread's slice of the targets.
  local per = math.floor(#targets / nthreads)
  slice_first = id * per + 1
  slice_len = per
  local per_thread = math.ceil(nconnections / nthreads)
  if slice_len < per_thread then
    io.stderr:write(string.format(
      "soak.lua: thread %d has %d targets for %d connections; role changes may collide (409)\n",
      id, slice_len, per_thread))
  end
end

local function get(path)
  return wrk.format("GET", path)
end

local function role_change()
  local pos = role_counter % slice_len
  local pass = math.floor(role_counter / slice_len)
  role_counter = role_counter + 1
  local target = targets[slice_first + pos]
  local role = (pass % 2 == 0) and "viewer" or "member"
  -- Custom headers replace wrk.headers, which carry the session cookie.
  local headers = { ["Content-Type"] = "application/x-www-form-urlencoded", ["X-CSRF-Token"] = csrf }
  for name, value in pairs(wrk.headers) do headers[name] = value end
  return wrk.format("POST", base .. "/members/" .. target .. "/role", headers, "role=" .. role)
end

request = function()
  local kind = MIX[(counter % #MIX) + 1]
  counter = counter + 1
  sent[kind] = sent[kind] + 1
  if kind == "role" then
    return role_change()
  elseif kind == "list" then
    return get(base .. "/members")
  elseif kind == "search" then
    -- An email fragment: user4242 matches user4242@… and user42420…
    return get(base .. "/members?q=user" .. math.random(1, math.max(1, members - 1)))
  elseif kind == "deep" then
    return get(base .. "/members" .. deep)
  elseif kind == "member" then
    return get(base .. "/members/" .. targets[math.random(1, #targets)])
  elseif kind == "products" then
    return get(base .. "/products")
  elseif kind == "audit" then
    return get(base .. "/audit")
  else
    return get("/healthz")
  end
end

response = function(status, headers, body)
  if status == 200 then
    ok_200 = ok_200 + 1
    return
  end
  if status == 303 then
    local location = headers["location"] or headers["Location"]
    if location == members_location then
      ok_303 = ok_303 + 1
      return
    end
  end
  bad = bad + 1
  local key = tostring(status)
  if status == 303 or status == 302 then
    key = key .. "(elsewhere)"
    if #first_location == 0 then
      first_location = tostring(headers["location"] or headers["Location"])
    end
  end
  bad_by_status[key] = (bad_by_status[key] or 0) + 1
  local parts = {}
  for k, n in pairs(bad_by_status) do parts[#parts + 1] = k .. ":" .. n end
  bad_list = table.concat(parts, " ")
end

local threads = {}
setup = function(thread)
  thread:set("id", #threads)
  threads[#threads + 1] = thread
end

done = function(summary, latency, requests)
  local total_bad, total_200, total_303 = 0, 0, 0
  local per_kind = {}
  for _, kind in ipairs(KINDS) do per_kind[kind] = 0 end
  local lists = {}
  for _, thread in ipairs(threads) do
    total_bad = total_bad + thread:get("bad")
    total_200 = total_200 + thread:get("ok_200")
    total_303 = total_303 + thread:get("ok_303")
    local s = thread:get("sent")
    for _, kind in ipairs(KINDS) do per_kind[kind] = per_kind[kind] + (s[kind] or 0) end
    local l = thread:get("bad_list")
    local loc = thread:get("first_location")
    if #loc > 0 then l = l .. " first redirect to " .. string.sub(loc, 1, 120) end
    if #l > 0 then lists[#lists + 1] = "thread " .. thread:get("id") .. ": " .. l end
  end
  local e = summary.errors
  local socket = e.connect + e.read + e.write + e.timeout
  local secs = summary.duration / 1e6
  io.write("-- soak.lua --\n")
  local sent_line = {}
  for _, kind in ipairs(KINDS) do sent_line[#sent_line + 1] = kind .. "=" .. per_kind[kind] end
  io.write("sent: " .. table.concat(sent_line, " ") .. "\n")
  io.write(string.format("answers: 200=%d 303(role change)=%d unexpected=%d%s\n",
    total_200, total_303, total_bad, #lists > 0 and (" [" .. table.concat(lists, "; ") .. "]") or ""))
  io.write(string.format("socket errors: connect=%d read=%d write=%d timeout=%d\n",
    e.connect, e.read, e.write, e.timeout))
  io.write(string.format("SOAK requests=%d seconds=%.1f rps=%.1f p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f errors=%d\n",
    summary.requests, secs, summary.requests / secs,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000, total_bad + socket))
end
