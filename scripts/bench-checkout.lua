-- wrk script: POST the checkout server function with a fresh idempotency key each time.
local cookie = os.getenv("BENCH_COOKIE")
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
    { ["Content-Type"] = "application/x-www-form-urlencoded", ["Cookie"] = cookie, ["Accept"] = "application/json" }, body)
end
