-- label.lua -- miltertest script: send one message file through a running
-- codepage-milter and check that it requests the expected header edits.
--
-- Defined with miltertest -D:
--   socket       milter socket, e.g. local:/run/codepage-milter/codepage-milter.sock
--   message      path of the message (LF or CRLF line ends; sent with CRLF)
--   change_name  header the milter must change (e.g. Content-Type)
--   change_value its expected new value, as "codepage-milter -t" writes it
--   add_name     header the milter must add (the audit header), or "" for none
--   connect_tries  optional: connection attempts 0.25 s apart (default 40)
-- Exits with an error (non-zero status) when an expectation fails.

local function fail(msg)
	-- miltertest does not print the error() text: say it first.
	mt.echo("label.lua: FAIL: " .. msg)
	error("label.lua: " .. msg)
end

local f = io.open(message, "rb")
if f == nil then fail("cannot open " .. message) end
local text = f:read("*a")
f:close()
text = text:gsub("\r\n", "\n")

local head, body = text:match("^(.-)\n\n(.*)$")
if head == nil then fail("no header/body separator in " .. message) end

-- mt.connect raises an error (rather than returning nil) once it gives up.
local tries = tonumber(connect_tries or "40")
local ok, conn = pcall(mt.connect, socket, tries, 0.25)
if not ok or conn == nil then
	fail("cannot connect to " .. socket .. ": " .. tostring(conn))
end

local function check(what, err)
	if err ~= nil then fail(what .. ": " .. err) end
end

-- Skip the steps the milter negotiated away (miltertest refuses to send them).
local function wants(step)
	return not mt.test_option(conn, step)
end

if wants(SMFIP_NOCONNECT) then
	check("conninfo", mt.conninfo(conn, "legacy.example.com", "192.0.2.7"))
end
if wants(SMFIP_NOHELO) then
	check("helo", mt.helo(conn, "legacy.example.com"))
end
if wants(SMFIP_NOMAIL) then
	check("mailfrom", mt.mailfrom(conn, "<sender@example.com>", "BODY=8BITMIME"))
end
if wants(SMFIP_NORCPT) then
	check("rcptto", mt.rcptto(conn, "<rcpt@example.net>"))
end

-- Unfold nothing: each header line here is one field (the test message has
-- no folded headers); the value is sent as the MTA would, after ": ".
for line in (head .. "\n"):gmatch("(.-)\n") do
	local name, value = line:match("^([^:]+):%s?(.*)$")
	if name == nil then fail("bad header line: " .. line) end
	check("header " .. name, mt.header(conn, name, value))
end
check("eoh", mt.eoh(conn))
check("body", mt.bodystring(conn, (body:gsub("\n", "\r\n"))))
check("eom", mt.eom(conn))

if mt.getreply(conn) ~= SMFIR_ACCEPT and mt.getreply(conn) ~= SMFIR_CONTINUE then
	fail("the milter did not accept the message")
end
-- With SMFIP_HDR_LEADSPC the value carries the space after the colon.
if not (mt.eom_check(conn, MT_HDRCHANGE, change_name, change_value) or
	mt.eom_check(conn, MT_HDRCHANGE, change_name, " " .. change_value)) then
	if mt.eom_check(conn, MT_HDRCHANGE, change_name) then
		fail(change_name .. " was changed, but not to \"" .. change_value .. "\"")
	end
	fail(change_name .. " was not changed")
end
if add_name ~= "" and not (mt.eom_check(conn, MT_HDRADD, add_name) or
			   mt.eom_check(conn, MT_HDRINSERT, add_name)) then
	fail(add_name .. " was not added")
end
mt.echo("label.lua: " .. change_name .. " changed to \"" .. change_value .. "\"" ..
	(add_name ~= "" and (", " .. add_name .. " added") or ""))
mt.disconnect(conn)
