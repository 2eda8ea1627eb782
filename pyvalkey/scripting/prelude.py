"""The Lua side of the sandbox, run once in every fresh Lua state.

Valkey runs scripts on a patched Lua 5.1 whose tables can be flagged read-only. lupa ships stock
Lua 5.1, so the same effect is built from proxies: every protected table (the globals, the
libraries, their metatables) is reached through an empty table whose ``__index`` is the real
table and whose ``__newindex`` raises Valkey's "Attempt to modify a readonly table". The few
builtins that would see through a proxy (``next``, ``pairs``, ``rawget``, ``rawset``,
``setmetatable``, ``getmetatable``, ``loadstring``, ``load``) are replaced by versions that know
about proxies. ``pcall`` is replaced as Valkey does: an error table with an ``err`` field comes
back as its message string.

The chunk receives ``py`` (a table of Python callables, see ``engine.py``) and returns a table of
entry points used by Python. Everything here is compiled under the chunk name ``=pyvalkey``
so that error positions can skip our own frames and point at the user's line.
"""

from __future__ import annotations

INTERNAL_SOURCE = "=pyvalkey"

PRELUDE = r"""
local py, mode = ...
local INTERNAL = '=pyvalkey'
local dbg = debug
local type, error, tostring, select, unpack = type, error, tostring, select, unpack
local raw_next, raw_rawget, raw_rawset = next, rawget, rawset
local raw_setmt, raw_getmt = setmetatable, getmetatable
local raw_loadstring, raw_load, raw_pcall, raw_xpcall = loadstring, load, pcall, xpcall
local raw_setfenv = setfenv

local real_of = raw_setmt({}, {__mode = 'k'})   -- proxy -> real table
local proxy_of = raw_setmt({}, {__mode = 'k'})  -- real table -> proxy

local function readonly() error('Attempt to modify a readonly table', 2) end

local function protect(t)
  local p = proxy_of[t]
  if p then return p end
  p = {}
  proxy_of[t] = p
  real_of[p] = t
  raw_setmt(p, {__index = t, __newindex = readonly, __metatable = false})
  return p
end

local function argtype(v, n)
  if n == 0 then return 'no value' end
  return type(v)
end

local function sb_next(t, k)
  return raw_next(real_of[t] or t, k)
end

local function sb_pairs(...)
  local t = ...
  if type(t) ~= 'table' then
    error("bad argument #1 to 'pairs' (table expected, got " .. argtype(t, select('#', ...)) .. ")", 2)
  end
  return raw_next, real_of[t] or t, nil
end

local function sb_rawget(t, k)
  if type(t) ~= 'table' then
    error("bad argument #1 to 'rawget' (table expected, got " .. argtype(t, t == nil and 0 or 1) .. ")", 2)
  end
  return raw_rawget(real_of[t] or t, k)
end

local function sb_rawset(t, k, v)
  if real_of[t] or proxy_of[t] then error('Attempt to modify a readonly table', 0) end
  return raw_rawset(t, k, v)
end

local function sb_setmetatable(t, m)
  if real_of[t] or proxy_of[t] then error('Attempt to modify a readonly table', 0) end
  return raw_setmt(t, m)
end

local string_meta = raw_getmt('')

local function sb_getmetatable(...)
  local v = ...
  if select('#', ...) == 0 then error("bad argument #1 to 'getmetatable' (value expected)", 2) end
  local real = real_of[v]
  if real then
    local m = raw_getmt(real)
    if m == nil then return nil end
    return protect(m)
  end
  local m = raw_getmt(v)
  if m ~= nil and (m == string_meta or proxy_of[m]) then return protect(m) end
  return m
end

local api = {}
local env_of_mode = {}

-- Valkey's Lua refuses precompiled chunks: the parser sees their first byte (ESC) as text.
-- The message is made by loading a one-character bad chunk under the same chunk name, so the
-- "[string ...]" part is Lua's own.
local function binary_refused(s, name)
  if type(s) ~= 'string' or s:byte(1) ~= 27 then return nil end
  local _, e = raw_loadstring('?', name or s)
  return (e:gsub("'%?'$", "'char(27)'"))
end

local function sb_loadstring(s, name)
  local refused = binary_refused(s, name)
  if refused then return nil, refused end
  local f, e = raw_loadstring(s, name)
  if f then raw_setfenv(f, api.env) end
  return f, e
end

local function sb_load(fn, name)
  local f, e = raw_load(fn, name)
  if f then raw_setfenv(f, api.env) end
  return f, e
end

local function where(level)
  while true do
    local i = dbg.getinfo(level, 'Sl')
    if not i then return '' end
    if i.what ~= 'C' and i.what ~= 'tail' and i.source ~= INTERNAL then
      if i.currentline > 0 then return i.short_src .. ':' .. i.currentline .. ': ' end
      return ''
    end
    level = level + 1
  end
end

local function unwrap(e)
  if type(e) == 'userdata' then
    local value, positioned = py.unwrap_error(e)
    if value ~= nil then
      if positioned then return where(3) .. value end
      return value
    end
  end
  return e
end

local function fix_pcall(ok, ...)
  if ok then return ok, ... end
  local e = unwrap((...))
  if type(e) == 'table' then
    local m = e.err
    if type(m) == 'string' or type(m) == 'number' then e = m end
  end
  return false, e
end

local function sb_pcall(...)
  return fix_pcall(raw_pcall(...))
end

-- Where an error is reported: the first frame that is not ours; if that is a C function,
-- the frame that called it (as Valkey's handler does).
local function user_frame(level)
  local i = dbg.getinfo(level, 'Sl')
  while i and i.source == INTERNAL do
    level = level + 1
    i = dbg.getinfo(level, 'Sl')
  end
  return i, level
end

local function err_handler(e)
  e = unwrap(e)
  local i, level = user_frame(3)
  if i and i.what == 'C' then
    i = user_frame(level + 1)
  end
  if type(e) ~= 'table' then
    e = {err = 'ERR ' .. tostring(e)}
  end
  if i then
    e.source = i.source
    e.line = i.currentline
  end
  return e
end

-- The server table ------------------------------------------------------------------------
-- The API functions are the Python callables themselves: called from Lua they are C functions
-- (lupa's __call), so a failing `return server.call(...)` keeps the user's frame for the error
-- position, as Valkey's C functions do. They raise ``LuaRaise``; ``unwrap`` turns the Python
-- exception value back into the Lua error value (an error table, or a message that gets the
-- user's position in front, as luaL_error does).
local function wrap_lib(t)
  local out = {}
  for k, v in raw_next, t do out[k] = v end
  return out
end

local function add_common(t)
  t.log = py.log
  t.LOG_DEBUG = 0
  t.LOG_VERBOSE = 1
  t.LOG_NOTICE = 2
  t.LOG_WARNING = 3
  t.REDIS_VERSION_NUM = py.redis_version_num
  t.REDIS_VERSION = py.redis_version
  t.VALKEY_VERSION_NUM = py.version_num
  t.VALKEY_VERSION = py.version
  t.SERVER_NAME = 'valkey'
end

local server = {}
server.call = py.call
server.pcall = py.pcall
add_common(server)
server.setresp = py.setresp
server.sha1hex = py.sha1hex
server.error_reply = py.error_reply
server.status_reply = py.status_reply
server.set_repl = py.set_repl
server.REPL_NONE = 0
server.REPL_AOF = 1
server.REPL_SLAVE = 2
server.REPL_REPLICA = 2
server.REPL_ALL = 3
server.acl_check_cmd = py.acl_check_cmd
if mode == 'eval' then
  server.replicate_commands = function() return true end
  server.breakpoint = function() return false end
  server.debug = function() end
end

-- math.random/randomseed with Valkey's generator (same sequence for the same seed).
local math_t = {}
for k, v in raw_next, math do math_t[k] = v end
math_t.random = py.random
math_t.randomseed = py.randomseed

local os_t = {clock = os.clock}

local globals = {}
local function add(name, value) globals[name] = value end
for _, name in ipairs({'xpcall', 'tostring', 'tonumber', 'assert', 'rawequal', 'collectgarbage',
                       'type', 'select', 'unpack', 'gcinfo', 'ipairs', '_VERSION', 'error',
                       'coroutine'}) do
  add(name, _G[name])
end
add('next', sb_next)
add('pairs', sb_pairs)
add('rawget', sb_rawget)
add('rawset', sb_rawset)
add('setmetatable', sb_setmetatable)
add('getmetatable', sb_getmetatable)
add('loadstring', sb_loadstring)
add('load', sb_load)
add('pcall', sb_pcall)
add('string', string)
add('table', table)
add('math', math_t)
add('os', os_t)
for name, lib in raw_next, py.libs do add(name, wrap_lib(lib)) end
local json_null = newproxy()
globals.cjson.null = json_null
globals.cjson._NAME = 'cjson'
globals.cjson._VERSION = '2.1.0'
globals.cmsgpack._NAME = 'cmsgpack'
globals.cmsgpack._VERSION = 'lua-cmsgpack 0.4.0'
globals.cmsgpack._COPYRIGHT = 'Copyright (C) 2012, Redis Ltd.'
globals.cmsgpack._DESCRIPTION = 'MessagePack C implementation for Lua'
globals.bit._NAME = 'bit'
api.null = json_null
add('server', server)
add('redis', server)
if mode == 'eval' then
  add('__redis__err__handler', err_handler)
  add('__server__err__handler', err_handler)
end

local missing = function(t, k)
  error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
end
raw_setmt(globals, {__index = missing, __newindex = readonly})

local env = protect(globals)
raw_rawset(globals, '_G', env)
-- protect the libraries (the real tables stay reachable only through the proxies)
for k, v in raw_next, globals do
  if type(v) == 'table' and k ~= '_G' then globals[k] = protect(v) end
end
for k, v in raw_next, globals do
  if type(v) == 'table' and k ~= '_G' then
    for k2, v2 in raw_next, real_of[v] do
      if type(v2) == 'table' then real_of[v][k2] = protect(v2) end
    end
  end
end
protect(string_meta)
protect(raw_getmt(globals))
api.env = env
api.globals = globals

-- The environment FUNCTION LOAD runs a library's body in: only registration and logging.
local loader = {register_function = py.register_function}
add_common(loader)
raw_setmt(loader, {__index = missing})
local load_globals = {server = protect(loader)}
load_globals.redis = load_globals.server
raw_setmt(load_globals, {__index = missing, __newindex = readonly})
api.load_env = protect(load_globals)

-- Entry points used from Python --------------------------------------------------------------
function api.compile(body, name)
  local f, e = raw_loadstring(body, name)
  if not f then return nil, e end
  raw_setfenv(f, env)
  return f
end

-- A library's functions see the environment their chunk ran in: while the body runs it offers
-- only the loading API, afterwards (finish_library) the full runtime globals.
function api.compile_library(body)
  local f, e = raw_loadstring(body, '@user_function')
  if not f then return nil, e end
  local meta = {__index = api.load_env, __newindex = readonly, __metatable = false}
  local lib_env = raw_setmt({}, meta)
  real_of[lib_env] = globals
  raw_setfenv(f, lib_env)
  return f, meta
end

function api.finish_library(meta)
  meta.__index = env
end

local function first(ok, v) return ok, v end

function api.run_eval(f, keys, argv)
  raw_rawset(globals, 'KEYS', keys)
  raw_rawset(globals, 'ARGV', argv)
  return first(raw_xpcall(f, err_handler))
end

function api.run_function(f, keys, argv)
  return first(raw_xpcall(function() return f(keys, argv) end, err_handler))
end

function api.run_loader(f)
  return first(raw_xpcall(f, err_handler))
end

local hook
hook = function()
  local i = dbg.getinfo(2, 'S')
  if i and i.source == INTERNAL then return end  -- never inside our own code (the error handler)
  local e = py.hook()
  if e then
    dbg.sethook(hook, 'l')
    error(e)
  end
end
function api.start_hook() dbg.sethook(hook, '', 100000) end
function api.stop_hook() dbg.sethook() end

function api.new_table() return {} end
function api.is_array_end(t, i) return raw_rawget(t, i) == nil end
api.rawget = raw_rawget

-- For a Python library function about to raise: the position luaL_error would give, i.e. that of
-- the function's caller when it is a Lua function (not ours), and nothing when it is a C function
-- such as pcall. Level 1 is this function, 2 the Python function being called, 3 its caller.
function api.where_caller()
  local level = 3
  local i = dbg.getinfo(level, 'Sl')
  while i and i.source == INTERNAL do
    level = level + 1
    i = dbg.getinfo(level, 'Sl')
  end
  if i and i.what ~= 'C' and i.currentline > 0 then return i.short_src .. ':' .. i.currentline .. ': ' end
  return ''
end

return api
"""
