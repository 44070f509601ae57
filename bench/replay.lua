-- wrk script for bench/inbound.py: sends the pre-built requests of a file, each once, in order.
--
-- wrk -t THREADS -s bench/replay.lua URL -- FILE THREADS
--
-- FILE holds each request as its length in bytes on a line, then the request itself
-- (bench/_webhooks.py write_requests): the signed webhooks cannot be made here, wrk's Lua has
-- no HMAC. Thread k of THREADS sends requests k+1, k+1+THREADS, ... of the file. With more requests asked for than the file holds it starts again from the first;
-- done() prints how many were issued, so that bench/inbound.py can refuse a run that repeated
-- webhooks (a repeated MessageSid is a duplicate, much cheaper to answer).
--
-- With BENCH_STOP_AFTER=N in the environment, each thread stops once its share of N responses
-- has arrived, and prints "bench: stopped", so that bench/inbound.py can end wrk (SIGINT) after
-- N webhooks rather than after a duration.

local pool = {}
local size = 0
issued = 0
local threads = {}

local share = 1

function setup(thread)
   thread:set("id", #threads)
   table.insert(threads, thread)
end

function init(args)
   local count = tonumber(args[2] or "1")
   local file = assert(io.open(args[1], "rb"))
   local index = 0
   while true do
      local line = file:read("*l")
      if not line then break end
      local request = file:read(tonumber(line))
      if index % count == id then
         size = size + 1
         pool[size] = request
      end
      index = index + 1
   end
   file:close()
   unique = size
   share = count
end

function request()
   issued = issued + 1
   return pool[(issued - 1) % size + 1]
end

local stop_after = tonumber(os.getenv("BENCH_STOP_AFTER") or "")
if stop_after then
   local answered = 0
   function response(status, headers, body)
      answered = answered + 1
      if answered == math.ceil(stop_after / share) then
         io.write("bench: stopped\n")
         io.flush()
         wrk.thread:stop()
      end
   end
end

function done(summary, latency, requests)
   local total, unique = 0, 0
   for _, thread in ipairs(threads) do
      total = total + thread:get("issued")
      unique = unique + thread:get("unique")
   end
   io.write(string.format("bench: issued %d of %d unique\n", total, unique))
end
