-- wrk script for bench/intake.py: unique JSON and ADF leads, half of them existing customers.
local token = os.getenv("BENCH_TOKEN")
local store = os.getenv("BENCH_STORE")
local phones = {}
for line in io.lines(os.getenv("BENCH_PHONES")) do phones[#phones + 1] = line end

local next_id = 1
function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
end

local counter = 0
local adf = [[<?xml version="1.0"?><?adf version="1.0"?><adf><prospect>
<id sequence="1" source="Autotrader">AT-%d</id><requestdate>2026-11-20T9:15:00</requestdate>
<vehicle interest="buy" status="used"><year>2021</year><make>Toyota</make><model>RAV4</model><stock>U%d</stock></vehicle>
<vehicle interest="trade-in"><year>2015</year><make>Honda</make><model>Civic</model></vehicle>
<customer><contact><name part="first">Bench</name><name part="last">Shopper%d</name>
<phone type="cellphone">%s</phone><email>shopper%d@example.com</email></contact>
<comments>Is it still available?</comments></customer>
<vendor><vendorname>Bench Motors</vendorname></vendor><provider><name part="full">Autotrader</name></provider>
</prospect></adf>]]
local json = [[{"store": "%s", "source_type": "third_party", "provider": "CarGurus", "provider_lead_id": "CG-%d",
"customer": {"first_name": "Bench", "last_name": "Shopper%d", "phone": "%s", "email": "shopper%d@example.com"},
"vehicles": [{"condition": "used", "year": 2020, "make": "Toyota", "model": "Camry"}]}]]

request = function()
  counter = counter + 1
  local n = id * 10000000 + counter
  local phone
  if counter % 2 == 0 then
    phone = phones[math.random(#phones)]
  else
    phone = string.format("+1773%07d", 2000000 + (id * 1000000 + counter) % 8000000)
  end
  local headers = {["Authorization"] = "Token " .. token}
  if counter % 4 < 2 then
    headers["Content-Type"] = "application/json"
    return wrk.format("POST", "/api/v1/leads/", headers, string.format(json, store, n, n, phone, n))
  end
  headers["Content-Type"] = "application/xml"
  return wrk.format("POST", "/api/v1/leads/adf/?store=" .. store, headers, string.format(adf, n, n, n, phone, n))
end

done = function(summary, latency, requests)
  io.write(string.format("RESULT requests=%d duration_us=%d errors=%d p50_us=%d p99_us=%d\n",
    summary.requests, summary.duration,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(99)))
end
