-- The benchmark scenarios for wrk (bench/run.py runs it; see bench/README.md).
--
--   wrk -t N -c N -d 5s -s bench/wrk/scenario.lua http://127.0.0.1:PORT -- scenario=refresh tokens=FILE ...
--
-- One connection per wrk thread, so that each thread is one virtual user (VU) whose requests follow each
-- other: a refresh can then present the token its own previous refresh returned. Arguments (key=value):
--   scenario  login | refresh | me | logout | mixed | login_totp
--   tokens    file of "access refresh" lines minted by bench/project_tasks.py; VU v starts from line v+1
--             (logout: VU v spends lines v+1, v+1+N, v+1+2N, ... one per request)
--   users     how many seeded users there are (user<i>@bench.example), password: their password
--   max       requests per VU that make the count bound (the time bound is -d)
--   vus       the number of VUs (threads): a thread does not see the others
--   mix       mixed scenario weights "me,refresh,login" (default 40,9,1)
--   agent     the User-Agent header of every request (the one the minted sessions were opened with)
--   path      me: the path to GET (default /api/auth/me/; the floor's /api/floor/ needs no tokens)
--   codes     login_totp: file of "step code" lines, the TOTP code of each 30 s step (all the accounts share
--             one secret); totpfirst, totpusers: the accounts totp<i>@bench.example of this run, i from
--             totpfirst, totpusers of them. A login is two requests: the password step (401 mfa_required,
--             whose mfa_token the VU keeps) and the code (200)
--   proofs    me with DPoP: VU v reads the DPoP proofs bench/run.py signed for its access token from the
--             file <proofs><v>, one per line, and sends each once (Authorization: DPoP)
-- A VU that reaches its bound prints VU_DONE, and bench/run.py then ends the whole run (SIGINT). The VU
-- carries on until then: a VU that stopped on its own would leave behind the connection wrk opens after
-- every closed one, and a sync server worker would sit on that idle connection, stalling the other VUs.
-- Logout therefore ends with a reserve of sessions still unspent (RESERVE); a VU that runs out anyway
-- sends an empty logout, a 400 on both projects, counted as an error.
-- done() prints one line "BENCH_JSON {...}" with the counts, the status codes seen and a grid of latency
-- percentiles (wrk's own histogram).
-- wrk calls request() once on the first thread before the run to check the request parses: that spends
-- one logout session and one mixed draw of VU 0, the same on both projects.

local vus = {}
local next_vu = 0

function setup(thread)
   thread:set("vu", next_vu)
   next_vu = next_vu + 1
   table.insert(vus, thread)
end

local cfg = {}
local expected = { login = 200, refresh = 200, me = 200, logout = "2xx", totp_password = 401, totp_code = 200 }
local access, refresh
local logout_tokens = {}
local logout_next = 1
local login_count = 0
local responses = 0
local pending = nil
local reported_done = false
local RESERVE = 0.2 -- share of each VU's logout sessions left when it reports done
local weights = {}
local user_agent
local proofs = nil
local proof_next = 1
local codes = {}
local mfa_token = nil

-- Copied out by done() through thread:get (string keys: wrk copies plain tables between Lua states).
status_counts = {}
unexpected = 0

local function json_body(key, value)
   return '{"' .. key .. '":"' .. value .. '"}'
end

local function post(path, body)
   return wrk.format("POST", path, {
      ["Content-Type"] = "application/json", ["Accept"] = "application/json", ["User-Agent"] = user_agent,
   }, body)
end

local function login_request(user_index)
   local body = '{"email":"user' .. user_index .. '@bench.example","password":"' .. cfg.password .. '"}'
   return post("/api/auth/login/", body)
end

local function me_request()
   local headers = { ["Accept"] = "application/json", ["User-Agent"] = user_agent }
   if proofs then
      headers["Authorization"] = "DPoP " .. access
      headers["DPoP"] = proofs[proof_next] -- none left: no proof, a 401 counted as an error
      proof_next = proof_next + 1
   elseif access then
      headers["Authorization"] = "Bearer " .. access
   end
   return wrk.format("GET", cfg.path or "/api/auth/me/", headers)
end

-- The number of VUs (wrk threads).
local function vu_count()
   return tonumber(cfg.vus)
end

function init(args)
   for i = 0, #args do
      local key, value = string.match(args[i] or "", "^(%w+)=(.*)$")
      if key then cfg[key] = value end
   end
   user_agent = cfg.agent or "wrk"
   cfg.users = tonumber(cfg.users or "1")
   cfg.max = tonumber(cfg.max or "1000000000")
   local mix = {}
   for weight in string.gmatch(cfg.mix or "40,9,1", "%d+") do table.insert(mix, tonumber(weight)) end
   weights = { me = mix[1], refresh = mix[2], login = mix[3], total = mix[1] + mix[2] + mix[3] }
   -- The same pseudo-random sequence of operations for a given VU on both projects.
   math.randomseed(1000 + vu)

   if cfg.codes then
      for line in io.lines(cfg.codes) do
         local step, code = string.match(line, "^(%d+) (%d+)$")
         codes[tonumber(step)] = code
      end
   end
   if cfg.proofs then
      proofs = {}
      for line in io.lines(cfg.proofs .. vu) do table.insert(proofs, line) end
   end
   if cfg.tokens then
      local line_number = 0
      for line in io.lines(cfg.tokens) do
         if cfg.scenario == "logout" then
            if line_number % vu_count() == vu then
               table.insert(logout_tokens, string.match(line, "^%S+ (%S+)$"))
            end
         elseif line_number == vu then
            access, refresh = string.match(line, "^(%S+) (%S+)$")
         end
         line_number = line_number + 1
      end
   end
end

local function choose_mixed()
   local draw = math.random(weights.total)
   if draw <= weights.me then return "me" end
   if draw <= weights.me + weights.refresh then return "refresh" end
   return "login"
end

-- Login with TOTP: the password step, then the code with the mfa_token it gave; a VU's accounts in turn.
local function login_totp_request()
   if mfa_token then
      local token = mfa_token
      mfa_token = nil
      pending = "totp_code"
      local code = codes[math.floor(os.time() / 30)] or "000000" -- none: a 400, counted as an error
      return post("/api/auth/login/mfa/", '{"mfa_token":"' .. token .. '","code":"' .. code .. '"}')
   end
   pending = "totp_password"
   local index = tonumber(cfg.totpfirst) + (vu + login_count * vu_count()) % tonumber(cfg.totpusers)
   login_count = login_count + 1
   return post("/api/auth/login/", '{"email":"totp' .. index .. '@bench.example","password":"' .. cfg.password .. '"}')
end

function request()
   local op = cfg.scenario
   if op == "login_totp" then return login_totp_request() end
   if op == "mixed" then op = choose_mixed() end
   pending = op
   if op == "login" then
      local user_index
      if cfg.scenario == "login" then
         user_index = (vu + login_count * vu_count()) % cfg.users
      else
         user_index = vu % cfg.users
      end
      login_count = login_count + 1
      return login_request(user_index)
   elseif op == "refresh" then
      return post("/api/auth/refresh/", json_body("refresh", refresh))
   elseif op == "logout" then
      local token = logout_tokens[logout_next]
      logout_next = logout_next + 1
      if token == nil then return post("/api/auth/logout/", "{}") end
      return post("/api/auth/logout/", json_body("refresh", token))
   end
   return me_request()
end

local function report_done()
   reported_done = true
   io.write("VU_DONE\n")
   io.flush()
end

function response(status, headers, body)
   responses = responses + 1
   local key = tostring(status)
   status_counts[key] = (status_counts[key] or 0) + 1
   local want = expected[pending]
   local ok = (want == "2xx" and status >= 200 and status < 300) or status == want
   if not ok then
      unexpected = unexpected + 1
   elseif pending == "totp_password" then
      mfa_token = string.match(body, '"mfa_token"%s*:%s*"([^"]+)"')
   elseif pending == "refresh" or pending == "login" then
      -- Keep the pair the server just issued: the next refresh presents this refresh token.
      access = string.match(body, '"access"%s*:%s*"([^"]+)"') or access
      refresh = string.match(body, '"refresh"%s*:%s*"([^"]+)"') or refresh
   end
   if reported_done then return end
   if responses >= cfg.max then
      report_done()
   elseif cfg.scenario == "logout" and #logout_tokens - logout_next < RESERVE * #logout_tokens then
      report_done()
   end
end

function done(summary, latency, requests)
   local grid = {}
   for p = 0.5, 99.0, 0.5 do table.insert(grid, p) end
   for _, p in ipairs({ 99.1, 99.2, 99.3, 99.4, 99.5, 99.6, 99.7, 99.8, 99.9, 99.95, 99.99 }) do
      table.insert(grid, p)
   end
   local points = {}
   if summary.requests > 0 then
      for _, p in ipairs(grid) do
         table.insert(points, string.format("[%s,%d]", tostring(p), latency:percentile(p)))
      end
   end
   local statuses, unexpected_total = {}, 0
   local totals = {}
   for _, thread in ipairs(vus) do
      for code, count in pairs(thread:get("status_counts")) do
         totals[code] = (totals[code] or 0) + count
      end
      unexpected_total = unexpected_total + thread:get("unexpected")
   end
   for code, count in pairs(totals) do
      table.insert(statuses, string.format('"%s":%d', code, count))
   end
   local e = summary.errors
   local lat = { min = 0, max = 0, mean = 0, stdev = 0 }
   if summary.requests > 0 then
      lat = { min = latency.min, max = latency.max, mean = latency.mean, stdev = latency.stdev }
   end
   io.write(string.format(
      'BENCH_JSON {"duration_us":%d,"requests":%d,"bytes":%d,"unexpected_status":%d,"statuses":{%s},' ..
      '"socket_errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d},"wrk_status_errors":%d,' ..
      '"latency_us":{"min":%d,"max":%d,"mean":%.1f,"stdev":%.1f,"percentiles":[%s]}}\n',
      summary.duration, summary.requests, summary.bytes, unexpected_total, table.concat(statuses, ","),
      e.connect, e.read, e.write, e.timeout, e.status,
      lat.min, lat.max, lat.mean, lat.stdev, table.concat(points, ",")))
   io.flush()
end
