-- LANGUAGE plpython3wasm (docs/python.md): Python function bodies run by the sandboxed CPython of
-- plwasm's Python runtime. Types both ways, NULLs, sets, errors with tracebacks, SD and GD, DO
-- blocks, the sandbox, and a role that is not a superuser.
\set VERBOSITY verbose
CREATE EXTENSION plwasm;
SELECT lanname, lanpltrusted FROM pg_language WHERE lanname = 'plpython3wasm';

-- The issue's example, and the parameters by name.
CREATE FUNCTION zscore(x float8, mu float8, sigma float8) RETURNS float8
IMMUTABLE STRICT LANGUAGE plpython3wasm AS $$
    return (x - mu) / sigma
$$;
SELECT zscore(12, 10, 2);
SELECT zscore(x, 50, 10) FROM generate_series(0, 100, 25) AS x;

-- Scalars in and out: the Python type each SQL type becomes, and back.
CREATE FUNCTION describe_bool(v bool) RETURNS text LANGUAGE plpython3wasm AS $$ return type(v).__name__ + ': ' + repr(v) $$;
CREATE FUNCTION describe_int2(v int2) RETURNS text LANGUAGE plpython3wasm AS $$ return type(v).__name__ + ': ' + repr(v) $$;
CREATE FUNCTION describe_int8(v int8) RETURNS text LANGUAGE plpython3wasm AS $$ return type(v).__name__ + ': ' + repr(v) $$;
CREATE FUNCTION describe_float4(v float4) RETURNS text LANGUAGE plpython3wasm AS $$ return type(v).__name__ + ': ' + repr(v) $$;
CREATE FUNCTION describe_numeric(v numeric) RETURNS text LANGUAGE plpython3wasm AS $$ return type(v).__name__ + ': ' + repr(v) $$;
CREATE FUNCTION describe_text(v varchar) RETURNS text LANGUAGE plpython3wasm AS $$ return type(v).__name__ + ': ' + repr(v) $$;
CREATE FUNCTION describe_bytea(v bytea) RETURNS text LANGUAGE plpython3wasm AS $$ return type(v).__name__ + ': ' + repr(v) $$;
CREATE FUNCTION describe_date(v date) RETURNS text LANGUAGE plpython3wasm AS $$ return type(v).__name__ + ': ' + repr(v) $$;
CREATE FUNCTION describe_ints(v int[]) RETURNS text LANGUAGE plpython3wasm AS $$ return type(v).__name__ + ': ' + repr(v) $$;
CREATE FUNCTION describe_texts(v text[]) RETURNS text LANGUAGE plpython3wasm AS $$ return type(v).__name__ + ': ' + repr(v) $$;
SELECT describe_bool(true), describe_bool(NULL), describe_int2(-7::int2), describe_int8(9223372036854775807);
SELECT describe_float4(1.5), describe_numeric(12.345), describe_numeric('NaN'), describe_text('héllo');
SELECT describe_bytea('\x00ff'), describe_date('2026-12-03');
SELECT describe_ints(ARRAY[[1, 2], [3, NULL]]), describe_ints('{}'), describe_texts(ARRAY['a', NULL, 'c']);

CREATE FUNCTION echo_bool(v bool) RETURNS bool LANGUAGE plpython3wasm AS $$ return v $$;
CREATE FUNCTION echo_int2(v int2) RETURNS int2 LANGUAGE plpython3wasm AS $$ return v $$;
CREATE FUNCTION echo_int4(v int4) RETURNS int4 LANGUAGE plpython3wasm AS $$ return v $$;
CREATE FUNCTION echo_int8(v int8) RETURNS int8 LANGUAGE plpython3wasm AS $$ return v $$;
CREATE FUNCTION echo_float4(v float4) RETURNS float4 LANGUAGE plpython3wasm AS $$ return v $$;
CREATE FUNCTION echo_float8(v float8) RETURNS float8 LANGUAGE plpython3wasm AS $$ return v $$;
CREATE FUNCTION echo_numeric(v numeric) RETURNS numeric LANGUAGE plpython3wasm AS $$ return v $$;
CREATE FUNCTION echo_text(v text) RETURNS text LANGUAGE plpython3wasm AS $$ return v $$;
CREATE FUNCTION echo_varchar(v varchar) RETURNS varchar(3) LANGUAGE plpython3wasm AS $$ return v $$;
CREATE FUNCTION echo_bytea(v bytea) RETURNS bytea LANGUAGE plpython3wasm AS $$ return v $$;
CREATE FUNCTION echo_timestamptz(v timestamptz) RETURNS timestamptz LANGUAGE plpython3wasm AS $$ return v $$;
CREATE FUNCTION echo_jsonb(v jsonb) RETURNS jsonb LANGUAGE plpython3wasm AS $$ return v $$;
CREATE FUNCTION echo_float8s(v float8[]) RETURNS float8[] LANGUAGE plpython3wasm AS $$ return v $$;
CREATE FUNCTION echo_texts(v text[]) RETURNS text[] LANGUAGE plpython3wasm AS $$ return v $$;
SELECT echo_bool(false), echo_int2((-32768)::int2), echo_int4(2147483647), echo_int8(-9223372036854775808);
SELECT echo_float4(3.25), echo_float8(1e308), echo_float8('-Infinity'), echo_float8('NaN');
SELECT echo_numeric(123456789012345678901234567890.0123456789), echo_numeric('Infinity');
SELECT echo_text('naïve ☃'), echo_text(''), echo_varchar('abc'), echo_bytea('\xdeadbeef');
SELECT echo_timestamptz('2026-12-03 12:00:00+00'), echo_jsonb('{"a": [1, 2, null]}');
SELECT echo_float8s(ARRAY[[1.5, 2.5], [NULL, 4]]), echo_float8s('{}'), echo_texts(ARRAY['x', NULL]);
SELECT echo_int4(NULL) IS NULL AS null_in_null_out;

-- Python values made the declared type: ints, floats and text read by the type's input.
CREATE FUNCTION to_int(v text) RETURNS int LANGUAGE plpython3wasm AS $$ return v $$;
CREATE FUNCTION to_float(v int) RETURNS float8 LANGUAGE plpython3wasm AS $$ return v $$;
CREATE FUNCTION to_bool(v text) RETURNS bool LANGUAGE plpython3wasm AS $$ return v $$;
CREATE FUNCTION to_numeric(v float8) RETURNS numeric LANGUAGE plpython3wasm AS $$ return v $$;
CREATE FUNCTION to_date(y int, m int, d int) RETURNS date LANGUAGE plpython3wasm AS $$
    import datetime
    return datetime.date(y, m, d)
$$;
CREATE FUNCTION matrix(n int) RETURNS int[] LANGUAGE plpython3wasm AS $$
    return [[i * n + j for j in range(n)] for i in range(n)]
$$;
CREATE FUNCTION from_tuple() RETURNS text[] LANGUAGE plpython3wasm AS $$ return ('a', None, 'b') $$;
SELECT to_int('42'), to_float(7), to_bool(''), to_bool('x'), to_numeric(0.1), to_date(2026, 12, 3);
SELECT matrix(3), matrix(0), from_tuple();
SELECT to_int('4.5');
CREATE FUNCTION too_big() RETURNS int2 LANGUAGE plpython3wasm AS $$ return 40000 $$;
SELECT too_big();
CREATE FUNCTION ragged() RETURNS int[] LANGUAGE plpython3wasm AS $$ return [[1, 2], [3]] $$;
SELECT ragged();
CREATE DOMAIN positive AS int CHECK (VALUE > 0);
CREATE FUNCTION to_positive(v int) RETURNS positive LANGUAGE plpython3wasm AS $$ return v $$;
SELECT to_positive(5);
SELECT to_positive(-5);

-- Composite types: dicts in; dicts, sequences, objects or text out.
CREATE TYPE reading AS (sensor text, value float8, tags text[]);
CREATE FUNCTION describe_reading(r reading) RETURNS text LANGUAGE plpython3wasm AS $$
    return repr(sorted(r.items()))
$$;
SELECT describe_reading(ROW('s1', 2.5, ARRAY['a'])::reading), describe_reading(ROW(NULL, NULL, NULL)::reading);
CREATE FUNCTION reading_from(kind text) RETURNS reading LANGUAGE plpython3wasm AS $$
    if kind == 'dict':
        return {'sensor': 's1', 'value': 1.5, 'tags': ['x']}
    if kind == 'tuple':
        return ('s2', 2.5, None)
    if kind == 'object':
        class R:
            sensor, value, tags = 's3', 3.5, []
        return R()
    if kind == 'text':
        return '(s4,4.5,{y})'
    if kind == 'missing':
        return {'sensor': 's5'}
    return None
$$;
SELECT (reading_from('dict')).*;
SELECT reading_from('tuple'), reading_from('object'), reading_from('text'), reading_from('none') IS NULL;
SELECT reading_from('missing');
CREATE FUNCTION split_name(full_name text, OUT first text, OUT last text) LANGUAGE plpython3wasm AS $$
    first, _, last = full_name.partition(' ')
    return first, last
$$;
SELECT * FROM split_name('Ada Lovelace');

-- Sets: any iterable (a generator, a list) for SETOF and RETURNS TABLE.
CREATE FUNCTION countdown(n int) RETURNS SETOF int LANGUAGE plpython3wasm AS $$
    while n > 0:
        yield n
        n -= 1
$$;
CREATE FUNCTION words(t text) RETURNS TABLE (pos int, word text) LANGUAGE plpython3wasm AS $$
    return [{'pos': i, 'word': w} for i, w in enumerate(t.split(), 1)]
$$;
CREATE FUNCTION readings() RETURNS SETOF reading LANGUAGE plpython3wasm AS $$
    return [('a', 1.0, None), {'sensor': 'b', 'value': None, 'tags': ['t']}]
$$;
SELECT * FROM countdown(3);
SELECT countdown(0);
SELECT * FROM words('to be or not');
SELECT * FROM readings();
SELECT w.word FROM generate_series(1, 2) AS g, LATERAL words(repeat('ab ', g)) AS w;

-- void, and PL/Python's `args`.
CREATE FUNCTION nothing() RETURNS void LANGUAGE plpython3wasm AS $$ pass $$;
CREATE FUNCTION positional(int, int) RETURNS int LANGUAGE plpython3wasm AS $$ return args[0] * args[1] $$;
CREATE FUNCTION both_ways(a int, b int) RETURNS text LANGUAGE plpython3wasm AS $$ return repr((a, b, args)) $$;
SELECT nothing(), positional(6, 7), both_ways(1, 2);

-- SD (per function) and GD (shared by one role's functions in a session).
CREATE FUNCTION counter() RETURNS int LANGUAGE plpython3wasm AS $$
    SD['n'] = SD.get('n', 0) + 1
    return SD['n']
$$;
CREATE FUNCTION gd_put(k text, v text) RETURNS void LANGUAGE plpython3wasm AS $$ GD[k] = v $$;
CREATE FUNCTION gd_get(k text) RETURNS text LANGUAGE plpython3wasm AS $$ return GD.get(k) $$;
SELECT counter(), counter(), counter();
SELECT gd_put('colour', 'blue');
SELECT gd_get('colour');

-- The standard library's pure-Python modules.
CREATE FUNCTION stdlib() RETURNS text LANGUAGE plpython3wasm AS $$
    import json, math, statistics, re, datetime, decimal, fractions, collections, hashlib, base64
    return json.dumps({
        'sqrt': math.sqrt(2),
        'mean': statistics.mean([1, 2, 3, 4]),
        'words': re.findall(r'\w+', 'a b-c'),
        'day': datetime.date(2026, 12, 3).isoformat(),
        'dec': str(decimal.Decimal('1.1') + decimal.Decimal('2.2')),
        'frac': str(fractions.Fraction(1, 3) * 3),
        'count': collections.Counter('abca').most_common(1),
        'sha': hashlib.sha256(b'x').hexdigest()[:8],
        'b64': base64.b64encode(b'hi').decode(),
    }, sort_keys=True)
$$;
SELECT stdlib();

-- Errors: a syntax error at CREATE FUNCTION, with the body's line (42P13); an exception at run time
-- (38000) with its class, message and traceback in DETAIL; the session goes on.
CREATE FUNCTION broken(x int) RETURNS int LANGUAGE plpython3wasm AS $$
    y = x +
    return y
$$;
CREATE FUNCTION divide(a int, b int) RETURNS float8 LANGUAGE plpython3wasm AS $$
    def helper(d):
        return a / d
    return helper(b)
$$;
SELECT divide(1, 0);
SELECT divide(1, 4);
CREATE FUNCTION fails(msg text) RETURNS int LANGUAGE plpython3wasm AS $$
    raise ValueError(msg)
$$;
SELECT fails('bad value');
SELECT fails(NULL);
SET check_function_bodies = off;
CREATE FUNCTION broken_later() RETURNS int LANGUAGE plpython3wasm AS $$ return ( $$;
RESET check_function_bodies;
SELECT broken_later();
CREATE FUNCTION bare_record() RETURNS record LANGUAGE plpython3wasm AS $$ return (1, 2) $$;
CREATE FUNCTION polymorphic(v anyelement) RETURNS text LANGUAGE plpython3wasm AS $$ return repr(v) $$;
SELECT zscore(1, 0, 1) AS still_serving;

-- DO blocks.
DO LANGUAGE plpython3wasm $$
GD['from_do'] = sum(range(10))
$$;
SELECT gd_get('from_do');
CREATE FUNCTION gd_sum() RETURNS int LANGUAGE plpython3wasm AS $$ return GD['from_do'] $$;
SELECT gd_sum();
DO LANGUAGE plpython3wasm $$ raise RuntimeError('from a DO block') $$;
DO LANGUAGE plpython3wasm $$ this is not python $$;

-- The sandbox: no files, network, processes or environment.
CREATE FUNCTION escape(how text) RETURNS text LANGUAGE plpython3wasm AS $$
    if how == 'open':
        return open('/etc/passwd').read()
    if how == 'socket':
        import socket
        return 'imported'
    if how == 'subprocess':
        import subprocess
        return 'imported'
    if how == 'environ':
        import os
        return repr(dict(os.environ))
    if how == 'system':
        import os
        return repr(hasattr(os, 'system'))
    if how == 'listdir':
        import os
        return repr(os.listdir('/'))
$$;
SELECT escape('open');
SELECT escape('socket');
SELECT escape('subprocess');
SELECT escape('environ'), escape('system');
SELECT escape('listdir');

-- A role that is not a superuser creates and calls functions (a trusted language: USAGE is PUBLIC's);
-- it never sees another role's GD.
CREATE ROLE py_user LOGIN;
GRANT CREATE ON SCHEMA public TO py_user;
SET ROLE py_user;
CREATE FUNCTION py_user_add(a int, b int) RETURNS int LANGUAGE plpython3wasm AS $$ return a + b $$;
SELECT py_user_add(2, 3);
SELECT gd_get('colour') IS NULL AS other_roles_gd_is_unseen;
RESET ROLE;
SELECT gd_get('colour');
DROP FUNCTION py_user_add(int, int);
REVOKE CREATE ON SCHEMA public FROM py_user;
DROP ROLE py_user;

-- Limits: fuel (54000), the memory cap (53200), recursion and the wasm stack (54001); each time the
-- session goes on. A trap throws the interpreter away, and with it GD.
CREATE FUNCTION spin() RETURNS int LANGUAGE plpython3wasm AS $$
    while True:
        pass
$$;
CREATE FUNCTION hoard(mib int) RETURNS int LANGUAGE plpython3wasm AS $$
    kept = [bytearray(1 << 20) for _ in range(mib)]
    return len(kept)
$$;
CREATE FUNCTION recurse(n int) RETURNS int LANGUAGE plpython3wasm AS $$
    def down(k):
        return down(k + 1)
    return down(0)
$$;
SET plwasm.fuel_per_call = 100000000;
SELECT spin();
RESET plwasm.fuel_per_call;
SELECT hoard(2);
SET plwasm.memory_limit = '64MB';
SELECT hoard(200);
RESET plwasm.memory_limit;
SELECT hoard(2);
-- (terse: the traceback's count of repeated frames depends on how deep the runtime's own frames go)
\set VERBOSITY terse
SELECT recurse(0);
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY verbose
-- Deep nesting that Python's recursion check does not see runs into the wasm stack.
CREATE FUNCTION nest(n int) RETURNS int LANGUAGE plpython3wasm AS $$
    x = []
    for _ in range(n):
        x = [x]
    return len(repr(x))
$$;
SELECT nest(10);
SELECT nest(100000);
SELECT zscore(3, 1, 2) AS still_serving;

-- CREATE OR REPLACE takes effect at the next call.
CREATE OR REPLACE FUNCTION counter() RETURNS int LANGUAGE plpython3wasm AS $$ return -1 $$;
SELECT counter();
