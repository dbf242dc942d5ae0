-- wrk script: USSD journeys over the provider's form, every reply checked.
--
-- Run with one connection per wrk thread (-tN -cN): wrk's Lua state is per
-- thread, so with one connection a thread's request()/response() calls follow
-- that connection in order and a journey's hops never overlap.
-- The journeys come from the file named by the first script argument
-- (written by bench/hops.py); the second is the run's number and the third the kind,
-- which make session ids and fresh phones unique across runs: `journeys = { {phone=..., steps={{text, expect}, ...}}, ... }`
-- where phone "%u" means "a fresh number per journey". A reply that is not
-- 200 or does not start with the step's expected text counts as bad and
-- restarts the journey with a new session.

local threads = {}
RESUME = "CON Continue "
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
  table.insert(threads, thread)
end

function init(args)
  dofile(args[1])
  run = args[2] or "0"
  kind = args[3] or "k"
  bad, good, journey_no, step_no, current = 0, 0, 0, 0, nil
  first_bad = ""
  workers = {}
end

local function phone_for(spec)
  if spec == "%u" then
    -- Fresh and never registered: run, thread and counter, so that no run
    -- meets a phone an earlier one left with a registration to resume.
    return string.format("+25079%02d%02d%03d", tonumber(run) % 100, tid % 100, journey_no % 1000)
  elseif spec == "%r" then
    -- A registration: unique within the run (run 2 digits, thread 2, counter 3).
    return string.format("+25072%02d%02d%03d", tonumber(run) % 100, tid % 100, journey_no % 1000)
  end
  return spec
end

local function next_journey()
  journey_no = journey_no + 1
  local spec = journeys[(journey_no + tid) % #journeys + 1]
  local phone = spec.phone
  if type(phone) == "table" then
    -- Each thread its own phones (index = tid mod 16): two live sessions of
    -- one phone would meet each other's resume offers.
    local own = math.floor(#phone / 16)
    phone = phone[(journey_no % own) * 16 + (tid % 16) + 1]
  end
  current = {steps = spec.steps, phone = phone_for(phone),
             session = string.format("wrk-%s-%s-%d-%d", kind, run, tid, journey_no)}
  step_no = 1
  prefix = ""
end

local function urlencode(s)
  return (s:gsub("[^%w%-_%.~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

-- After a declined resume offer the provider's text carries the "2" first.
function with_prefix(text)
  if prefix == "" then return text end
  if text == "" then return "2" end
  return prefix .. text
end

function request()
  if current == nil then next_journey() end
  local step = current.steps[step_no]
  local body = "sessionId=" .. urlencode(current.session) .. "&phoneNumber=" .. urlencode(current.phone)
    .. "&networkCode=63510&serviceCode=" .. urlencode("*384*7#") .. "&text=" .. urlencode(with_prefix(step[1]))
  return wrk.format("POST", "/at/ussd", {["Content-Type"] = "application/x-www-form-urlencoded"}, body)
end

function response(status, headers, body)
  local step = current.steps[step_no]
  local w = headers["X-Worker"]
  if w then workers[w] = (workers[w] or 0) + 1 end
  if status == 200 and step_no == 1 and prefix == "" and body:sub(1, #RESUME) == RESUME then
    -- A journey cut short (by the end of an earlier run) is offered again to
    -- its phone: an expected screen; decline it and go on.
    good = good + 1
    prefix = "2*"
    return
  end
  if status ~= 200 or body:sub(1, #step[2]) ~= step[2] then
    bad = bad + 1
    if first_bad == "" then
      -- Kept JSON-safe: the report prints it inside a string.
      first_bad = (string.format("%d [%s] -> %s", status, step[1], body:sub(1, 60)):gsub("[^%w %.:,!%*%-%[%]>]", "_"))
    end
    next_journey()
    return
  end
  good = good + 1
  step_no = step_no + 1
  if step_no > #current.steps then next_journey() end
end

function done(summary, latency, requests)
  local nbad, ngood, firsts, split = 0, 0, {}, {}
  for _, t in ipairs(threads) do
    nbad = nbad + t:get("bad")
    ngood = ngood + t:get("good")
    local f = t:get("first_bad")
    if f ~= "" then table.insert(firsts, f) end
    for k, v in pairs(t:get("workers")) do split[k] = (split[k] or 0) + v end
  end
  local parts = {}
  for k, v in pairs(split) do table.insert(parts, string.format('"%s":%d', k, v)) end
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests":%d,"seconds":%.3f,"p50_ms":%.3f,"p99_ms":%.3f,"bad":%d,"good":%d,' ..
    '"errors":%d,"first_bad":"%s","workers":{%s}}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1e3, latency:percentile(99) / 1e3,
    nbad, ngood, e.connect + e.read + e.write + e.status + e.timeout, firsts[1] or "", table.concat(parts, ",")))
end
