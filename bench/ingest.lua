-- ingest.lua: wrk script for POST /v1/events with unique event ids.
--
--   wrk -t2 -c64 -d8s -s bench/ingest.lua URL -- TEMPLATE BATCH TAG KEY
--
-- TEMPLATE is a JSON event with the marker @ID@ (bench/event.json).
-- BATCH 1 posts the event alone; BATCH N posts {"events":[...N...]}.
-- Every event gets the id TAG-<thread>-<request>-<k>: duplicates are
-- cheaper for the gateway than new events, so no id ever repeats.
-- done() prints one "WRK key=value ..." line for the bench scripts.

local counter = 0
local threads = {}

function setup(thread)
	counter = counter + 1
	thread:set("tid", counter)
	table.insert(threads, thread)
end

local head, tail, batch, tag, n

function init(args)
	local f = assert(io.open(args[1], "rb"))
	local t = f:read("*a"):gsub("%s+$", "")
	f:close()
	local i, j = t:find("@ID@", 1, true)
	assert(i, "template has no @ID@ marker")
	head, tail = t:sub(1, i - 1), t:sub(j + 1)
	batch = tonumber(args[2]) or 1
	tag = (args[3] or "w") .. "-" .. tid .. "-"
	n = 0
	wrk.method = "POST"
	wrk.headers["Authorization"] = "Bearer " .. (args[4] or "")
	wrk.headers["Content-Type"] = "application/json"
end

function request()
	n = n + 1
	local id = tag .. n .. "-"
	local body
	if batch == 1 then
		body = head .. id .. "0" .. tail
	else
		local parts = {}
		for k = 1, batch do
			parts[k] = head .. id .. k .. tail
		end
		body = '{"events":[' .. table.concat(parts, ",") .. "]}"
	end
	return wrk.format(nil, nil, nil, body)
end

function done(summary, latency, requests)
	local e = summary.errors
	local s = summary.duration / 1e6
	io.write(string.format("WRK requests=%d seconds=%.3f rps=%.1f " ..
		"non2xx=%d sockerr=%d p50_ms=%.3f p99_ms=%.3f max_ms=%.3f\n",
		summary.requests, s, summary.requests / s, e.status,
		e.connect + e.read + e.write + e.timeout,
		latency:percentile(50) / 1000, latency:percentile(99) / 1000,
		latency.max / 1000))
end
