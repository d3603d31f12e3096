-- wrk script: POST the checkout server function with a fresh idempotency key each time, from
-- the buyers whose session cookies are in the file BENCH_COOKIES (one a line), in turn, or
-- from the one buyer of BENCH_COOKIE.
local cookies = {}
local path = os.getenv("BENCH_COOKIES")
if path then
  for line in io.lines(path) do
    if #line > 0 then cookies[#cookies + 1] = line end
  end
end
if #cookies == 0 then cookies[1] = os.getenv("BENCH_COOKIE") end
local listing = os.getenv("BENCH_LISTING")
local n = 0
function setup(thread)
  thread:set("tid", tostring(math.random(1, 1000000000)))
end
function request()
  n = n + 1
  local body = "idempotency_key=bench-" .. tid .. "-" .. n ..
    "&items[0][listing_id]=" .. listing .. "&items[0][quantity]=1"
  return wrk.format("POST", "/api/orders/checkout",
    { ["Content-Type"] = "application/x-www-form-urlencoded", ["Cookie"] = cookies[(n % #cookies) + 1], ["Accept"] = "application/json" }, body)
end
