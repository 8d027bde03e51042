-- wrk script for bench/run.sh: every request logs in the next of the
-- registered bench users (loadgen users), round robin, so the logins are
-- spread over many accounts like real traffic.
-- USERS is the number of users registered.
local users = tonumber(os.getenv("USERS") or "100")
local i = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

request = function()
  i = (i + 1) % users
  local body = string.format('{"email":"user%d@bench.test","password":"bench passphrase, long enough"}', i)
  return wrk.format(nil, "/auth/login", nil, body)
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("login_non2xx %d\n", e.status))
end
