"""The benchmark workloads: their data, their contenders (built-in SQL, native pgrx, PL/pgSQL,
PL/Python, plwasm) and the ratio targets of issue 5. Read by harness.py; docs/performance.md
explains each one."""

import os
from dataclasses import dataclass, field

# Sizes of the full run and of the smoke run the test suite makes (answers only, never times).
FULL = dict(scalar_rows=10_000_000, component_rows=1_000_000, float_rows=10_000_000, text_rows={16: 1_000_000, 1024: 200_000, 65536: 5_000},
            series_len=1_000_000, agg_rows=10_000_000, blob_rows=200_000, window_rows=100_000,
            pgbench_seconds=4, compile_samples=9)
SMOKE = dict(scalar_rows=3_000, component_rows=3_000, float_rows=3_000, text_rows={16: 300, 1024: 50, 65536: 4},
             series_len=3_000, agg_rows=5_000, blob_rows=300, window_rows=3_000, pgbench_seconds=0, compile_samples=1)


@dataclass
class Contender:
    label: str
    kind: str  # builtin, native, plpgsql, plpython, wasm
    timed: str  # the query timed (or, for pgbench workloads, the one statement of the script)
    answer: str = ""  # an untimed query whose result must agree across contenders ("" = the timed one)
    options: str = ""  # connection options, for contenders that need their own backend


@dataclass
class Target:
    description: str
    numerator: str  # contender label
    denominator: str
    bound: float
    at_most: bool  # the ratio must be <= bound (else >=)


@dataclass
class Workload:
    name: str
    title: str
    mode: str  # query (ms), connect (pgbench -C, tps), throughput (pgbench -c 2, tps), compile (us)
    contenders: list
    reference: str
    targets: list = field(default_factory=list)
    tolerance: float = 0.0  # relative difference allowed between float answers
    rows: int = 0  # for nanoseconds per row


# The polyglot library's guests (udf-guests/polyglot): stored module suffix and label. JavaScript and
# Go are built only with PLWASM_HEAVY=1 (scripts/test.sh --heavy, PLWASM_HEAVY=1 bash benches/run.sh).
COMPONENT_LANGUAGES = [("rust", "Rust"), ("c", "C"), ("python", "Python")] + (
    [("js", "JavaScript"), ("go", "Go")] if os.environ.get("PLWASM_HEAVY") == "1" else [])
# Interpreted guests loop over a million-element array in more fuel than one call can have (Python's
# rolling-mean: about 8 billion units, JavaScript's 5.6; plwasm.max_fuel_per_call stops at 2^31 - 1),
# so they run it in a backend with fuel metering off.
INTERPRETED = {"python", "js"}
FUEL_OFF = "-c plwasm.fuel_metering=off"


def components_sql():
    """Each language's component `add`, `rolling-mean` and `stats.moments` (a batched stddev)."""
    sql = []
    for language, _ in COMPONENT_LANGUAGES:
        module = f"polyglot_{language}"
        sql.append(f"""
CREATE FUNCTION {language}_component_add(int, int) RETURNS int IMMUTABLE STRICT PARALLEL SAFE LANGUAGE wasm
AS '{module}:add';
CREATE FUNCTION {language}_component_rolling_mean(float8[], int) RETURNS float8[] IMMUTABLE STRICT LANGUAGE wasm
AS '{module}:rolling-mean';
CREATE FUNCTION {language}_moments_push(internal, float8) RETURNS internal PARALLEL SAFE LANGUAGE wasm
AS '{module}:moments.push';
CREATE FUNCTION {language}_moments_stddev(internal) RETURNS float8 PARALLEL SAFE LANGUAGE wasm
AS '{module}:moments.stddev';
CREATE AGGREGATE {language}_component_stddev(float8) (SFUNC = {language}_moments_push, STYPE = internal,
    FINALFUNC = {language}_moments_stddev);""")
    return "\n".join(sql)


def setup_sql(size, python):
    """Functions of every contender (PL/Python's only if `python`), and the data, for one run's sizes."""
    texts = "\n".join(
        f"""CREATE TABLE texts_{n} (id int, t text);
ALTER TABLE texts_{n} ALTER t SET STORAGE EXTERNAL;
INSERT INTO texts_{n} SELECT i, substr(repeat(md5(i::text), {max(1, n // 32)}), 1, {n})
    FROM generate_series(1, {rows}) AS i;"""
        for n, rows in size["text_rows"].items())
    return f"""
{FUNCTIONS}
{TRUSTED_PYTHON_FUNCTIONS}
{PYTHON_FUNCTIONS if python else ""}
CREATE TABLE ints AS SELECT i FROM generate_series(1, {size['scalar_rows']}) AS i;
CREATE TABLE component_ints AS SELECT i FROM generate_series(1, {size['component_rows']}) AS i;
CREATE TABLE floats AS SELECT sin(i) * 10 AS x FROM generate_series(1, {size['float_rows']}) AS i;
CREATE TABLE component_floats AS SELECT 100 * sin(i / 10.0) + (i % 7) AS x
    FROM generate_series(1, {size['component_rows']}) AS i;
{components_sql()}
{texts}
CREATE TABLE series AS SELECT i, 100 * sin(i / 10.0) + (i % 7) AS x FROM generate_series(1, {size['series_len']}) AS i;
CREATE TABLE arr AS SELECT array_agg(x ORDER BY i) AS xs FROM series;
CREATE TABLE big AS SELECT 100 * sin(i / 10.0) + (i % 7) AS x FROM generate_series(1, {size['agg_rows']}) AS i;
CREATE TABLE blobs AS SELECT decode(repeat(md5(i::text), 32), 'hex') AS b FROM generate_series(1, {size['blob_rows']}) AS i;
CREATE TABLE window_series AS SELECT i, x FROM series WHERE i <= {size['window_rows']};
"""


FUNCTIONS = r"""
-- rolling_mean, the components' float8[] kernel, as the timeseries guest's loop.
CREATE FUNCTION plpgsql_rolling_mean(xs float8[], w int) RETURNS float8[] IMMUTABLE STRICT LANGUAGE plpgsql AS $$
DECLARE total float8 := 0; result float8[] := '{}';
BEGIN
    FOR i IN 1 .. coalesce(array_length(xs, 1), 0) LOOP
        total := total + xs[i];
        IF i > w THEN total := total - xs[i - w]; END IF;
        result[i] := total / least(i, w)::float8;
    END LOOP;
    RETURN result;
END $$;
CREATE FUNCTION wasm_add(int, int) RETURNS int IMMUTABLE STRICT PARALLEL SAFE LANGUAGE wasm
AS $$ (module (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)) $$;
CREATE FUNCTION sdk_add(int, int) RETURNS int IMMUTABLE STRICT PARALLEL SAFE LANGUAGE wasm AS 'sdk_examples';
CREATE FUNCTION plpgsql_add(a int, b int) RETURNS int IMMUTABLE STRICT PARALLEL SAFE LANGUAGE plpgsql
AS $$ BEGIN RETURN a + b; END $$;

CREATE FUNCTION float_chain(float8) RETURNS float8 IMMUTABLE STRICT PARALLEL SAFE LANGUAGE wasm AS 'bench_guest';
CREATE FUNCTION plpgsql_float_chain(x float8) RETURNS float8 IMMUTABLE STRICT PARALLEL SAFE LANGUAGE plpgsql AS $$
DECLARE y float8 := x; acc float8 := 0;
BEGIN
    FOR k IN 1..8 LOOP
        y := y * 0.75::float8 + 1.0::float8 / (k::float8 + y * y);
        acc := acc + (y * y - 0.5::float8 * acc);
    END LOOP;
    RETURN acc;
END $$;

-- The SDK against the same work written by hand against the ABI.
CREATE FUNCTION hand_add(int, int) RETURNS int STRICT LANGUAGE wasm
AS $$ (module (func (export "hand_add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)) $$;
CREATE FUNCTION sdk_byte_length(bytea) RETURNS int STRICT LANGUAGE wasm AS 'sdk_examples';
CREATE FUNCTION hand_byte_length(bytea) RETURNS int STRICT LANGUAGE wasm
AS $$ (module (memory (export "memory") 1)
        (global $heap (mut i32) (i32.const 1024))
        (func (export "plwasm_alloc") (param $size i32) (param $align i32) (result i32)
          (local $p i32)
          (local.set $p (global.get $heap))
          (if (i32.gt_u (i32.add (local.get $p) (local.get $size)) (i32.mul (memory.size) (i32.const 65536)))
            (then (drop (memory.grow (i32.add (i32.div_u (local.get $size) (i32.const 65536)) (i32.const 1))))))
          (global.set $heap (i32.add (local.get $p) (local.get $size)))
          (local.get $p))
        (func (export "hand_byte_length") (param i32 i32) (result i32) local.get 1)) $$;
-- ts_stddev without its moving-aggregate form, for the sliding-window workload.
CREATE AGGREGATE ts_stddev_plain(float8) (SFUNC = welford_step, STYPE = float8[], INITCOND = '{0,0,0}',
    FINALFUNC = welford_stddev);

CREATE FUNCTION ascii_upper(text) RETURNS text IMMUTABLE STRICT PARALLEL SAFE LANGUAGE wasm AS 'bench_guest';
CREATE FUNCTION plpgsql_upper(t text) RETURNS text IMMUTABLE STRICT PARALLEL SAFE LANGUAGE plpgsql
AS $$ BEGIN RETURN upper(t); END $$;

-- rolling_std: the loop of udf-guests/ts-kernels, step for step.
CREATE FUNCTION plpgsql_rolling_std(xs float8[], w int) RETURNS float8[] IMMUTABLE STRICT LANGUAGE plpgsql AS $$
DECLARE
    n int := coalesce(array_length(xs, 1), 0);
    mean float8 := 0; m2 float8 := 0; x float8; y float8; d float8;
    s int; c int; result float8[] := '{}';
BEGIN
    FOR i IN 0 .. n - 1 LOOP
        s := greatest(i + 1 - w, 0);
        c := i + 1 - s;
        IF i % w = 0 THEN
            mean := 0; m2 := 0;
            FOR j IN s .. i LOOP
                x := xs[j + 1]; d := x - mean;
                mean := mean + d / (j - s + 1)::float8;
                m2 := m2 + d * (x - mean);
            END LOOP;
        ELSE
            IF i >= w THEN
                y := xs[i - w + 1]; d := y - mean;
                mean := mean - d / (c - 1)::float8;
                m2 := m2 - d * (y - mean);
            END IF;
            x := xs[i + 1]; d := x - mean;
            mean := mean + d / c::float8;
            m2 := m2 + d * (x - mean);
        END IF;
        result[i + 1] := CASE WHEN c < 2 THEN 'NaN'::float8 ELSE sqrt(greatest(m2, 0) / (c - 1)::float8) END;
    END LOOP;
    RETURN result;
END $$;

-- mean and stddev in one aggregate over a Welford state {n, mean, m2}.
CREATE FUNCTION plpgsql_welford(s float8[], x float8) RETURNS float8[] IMMUTABLE STRICT LANGUAGE plpgsql AS $$
DECLARE n float8 := s[1] + 1; d float8 := x - s[2]; m float8;
BEGIN
    m := s[2] + d / n;
    RETURN ARRAY[n, m, s[3] + d * (x - m)];
END $$;
CREATE FUNCTION plpgsql_welford_final(s float8[]) RETURNS float8[] IMMUTABLE STRICT LANGUAGE plpgsql AS $$
BEGIN RETURN ARRAY[s[2], sqrt(s[3] / (s[1] - 1))]; END $$;
CREATE AGGREGATE plpgsql_mean_stddev(float8) (SFUNC = plpgsql_welford, STYPE = float8[],
    INITCOND = '{0,0,0}', FINALFUNC = plpgsql_welford_final);
"""

# The rolling mean in Python, for PL/Python and plwasm's trusted Python alike.
ROLLING_MEAN_BODY = """total = 0.0
out = []
for i, x in enumerate(xs):
    total += x
    if i >= w:
        total -= xs[i - w]
    out.append(total / min(i + 1, w))
return out
"""

# plwasm's trusted Python (docs/python.md): the same bodies as PL/Python's below.
TRUSTED_PYTHON_FUNCTIONS = r"""
CREATE FUNCTION pw_add(a int, b int) RETURNS int IMMUTABLE STRICT LANGUAGE plpython3wasm AS $$ return a + b $$;
CREATE FUNCTION pw_upper(t text) RETURNS text IMMUTABLE STRICT LANGUAGE plpython3wasm AS $$ return t.upper() $$;
CREATE FUNCTION pw_rolling_mean(xs float8[], w int) RETURNS float8[] IMMUTABLE STRICT LANGUAGE plpython3wasm AS $$
{ROLLING_MEAN_BODY}$$;
""".replace("{ROLLING_MEAN_BODY}", ROLLING_MEAN_BODY)

# PL/Python contenders, created only where the server offers plpython3u.
PYTHON_FUNCTIONS = r"""
CREATE FUNCTION py_add(a int, b int) RETURNS int IMMUTABLE STRICT LANGUAGE plpython3u AS $$ return a + b $$;
CREATE FUNCTION py_float_chain(x float8) RETURNS float8 IMMUTABLE STRICT LANGUAGE plpython3u AS $$
y, acc = x, 0.0
for k in range(1, 9):
    y = y * 0.75 + 1.0 / (float(k) + y * y)
    acc += y * y - 0.5 * acc
return acc
$$;
CREATE FUNCTION py_upper(t text) RETURNS text IMMUTABLE STRICT LANGUAGE plpython3u AS $$ return t.upper() $$;
CREATE FUNCTION py_rolling_std(xs float8[], w int) RETURNS float8[] IMMUTABLE STRICT LANGUAGE plpython3u AS $$
import math
mean = m2 = 0.0
out = []
for i in range(len(xs)):
    s = max(i + 1 - w, 0)
    c = i + 1 - s
    if i % w == 0:
        mean = m2 = 0.0
        for j in range(s, i + 1):
            x = xs[j]; d = x - mean
            mean += d / float(j - s + 1)
            m2 += d * (x - mean)
    else:
        if i >= w:
            y = xs[i - w]; d = y - mean
            mean -= d / float(c - 1)
            m2 -= d * (y - mean)
        x = xs[i]; d = x - mean
        mean += d / float(c)
        m2 += d * (x - mean)
    out.append(float('nan') if c < 2 else math.sqrt(max(m2, 0.0) / float(c - 1)))
return out
$$;
CREATE FUNCTION py_rolling_mean(xs float8[], w int) RETURNS float8[] IMMUTABLE STRICT LANGUAGE plpython3u AS $$
{ROLLING_MEAN_BODY}$$;
CREATE FUNCTION py_welford(s float8[], x float8) RETURNS float8[] IMMUTABLE STRICT LANGUAGE plpython3u AS $$
n = s[0] + 1.0
d = x - s[1]
m = s[1] + d / n
return [n, m, s[2] + d * (x - m)]
$$;
CREATE FUNCTION py_welford_final(s float8[]) RETURNS float8[] IMMUTABLE STRICT LANGUAGE plpython3u AS $$
import math
return [s[1], math.sqrt(s[2] / (s[0] - 1.0))]
$$;
CREATE AGGREGATE py_mean_stddev(float8) (SFUNC = py_welford, STYPE = float8[],
    INITCOND = '{0,0,0}', FINALFUNC = py_welford_final);
""".replace("{ROLLING_MEAN_BODY}", ROLLING_MEAN_BODY)


def window_query(aggregate, table="series"):
    return f"SELECT {aggregate}(x) OVER (ORDER BY i ROWS BETWEEN 99 PRECEDING AND CURRENT ROW) AS s FROM {table}"


def sliding(label, kind, aggregate):
    return Contender(label, kind, f"SELECT count(s) FROM ({window_query(aggregate, 'window_series')}) w;",
                     f"SELECT sum(s) FROM ({window_query(aggregate, 'window_series')}) w;")


def mean_stddev(label, kind, options="", per_row=False):
    """ts_mean and ts_stddev (batched, or the one-call-per-row form), or the built-ins, over `big`."""
    query = {"builtin": "SELECT avg(x), stddev_samp(x) FROM big;",
             "wasm": "SELECT ts_mean_per_row(x), ts_stddev_per_row(x) FROM big;" if per_row
             else "SELECT ts_mean(x), ts_stddev(x) FROM big;"}[kind]
    return Contender(label, kind, query, options=options)


def rolling(label, kind, function, options=""):
    return Contender(label, kind, f"SELECT array_length({function}(xs, 100), 1) FROM arr;",
                     f"SELECT sum(s) FROM unnest((SELECT {function}(xs, 100) FROM arr)) AS s WHERE s <> 'NaN';",
                     options)


def text_workload(size, rows):
    name = {16: "16 B", 1024: "1 KiB", 65536: "64 KiB"}[size]
    def contender(label, kind, function):
        return Contender(label, kind, f"SELECT sum(octet_length({function}(t))) FROM texts_{size};",
                         f"SELECT sum(hashtext({function}(t))) FROM texts_{size};")
    bound = {16: 3.0, 1024: 1.5, 65536: 1.2}[size]
    return Workload(
        f"text_{size}", f"text: upper-case a {name} text per row, {rows:,} rows", "query",
        [contender("built-in upper", "builtin", "upper"),
         contender("native pgrx", "native", "native_ascii_upper"),
         contender("PL/pgSQL", "plpgsql", "plpgsql_upper"),
         contender("PL/Python", "plpython", "py_upper"),
         contender("wasm", "wasm", "ascii_upper")],
        "native pgrx", [Target(f"text {name}: wasm ÷ native pgrx", "wasm", "native pgrx", bound, True)],
        rows=rows)


def one_call(wasm_label):
    """The pgbench workloads' contenders: one call of an add per transaction. The wasm add lives in
    sdk_examples, a 100 KB module."""
    return [Contender("built-in 1 + 1", "builtin", "SELECT 1 + 1;"),
            Contender("native pgrx", "native", "SELECT native_add(1, 1);"),
            Contender("PL/pgSQL", "plpgsql", "SELECT plpgsql_add(1, 1);"),
            Contender("PL/Python", "plpython", "SELECT py_add(1, 1);"),
            Contender(wasm_label, "wasm", "SELECT sdk_add(1, 1);")]


def workloads(size):
    scalar_rows, float_rows, agg_rows = size["scalar_rows"], size["float_rows"], size["agg_rows"]
    fuel_off = "-c plwasm.fuel_metering=off"
    parallel = "-c max_parallel_workers_per_gather=2"
    jit_on = "-c jit=on -c jit_above_cost=0"
    return [
        Workload(
            "scalar", f"scalar: SELECT sum(f(i, 1)) over {scalar_rows:,} int rows", "query",
            [Contender("built-in i + 1", "builtin", "SELECT sum(i + 1) FROM ints;"),
             Contender("native pgrx", "native", "SELECT sum(native_add(i, 1)) FROM ints;"),
             Contender("PL/pgSQL", "plpgsql", "SELECT sum(plpgsql_add(i, 1)) FROM ints;"),
             Contender("PL/Python", "plpython", "SELECT sum(py_add(i, 1)) FROM ints;"),
             Contender("wasm", "wasm", "SELECT sum(wasm_add(i, 1)) FROM ints;")],
            "native pgrx",
            [Target("scalar: wasm ÷ native pgrx", "wasm", "native pgrx", 1.45, True),
             Target("scalar: PL/pgSQL ÷ wasm", "PL/pgSQL", "wasm", 3.0, False)],
            rows=scalar_rows),
        Workload(
            "float", f"float kernel: 64 float operations per row over {float_rows:,} rows", "query",
            [Contender("native pgrx", "native", "SELECT sum(native_float_chain(x)) FROM floats;"),
             Contender("PL/pgSQL", "plpgsql", "SELECT sum(plpgsql_float_chain(x)) FROM floats;"),
             Contender("PL/Python", "plpython", "SELECT sum(py_float_chain(x)) FROM floats;"),
             Contender("wasm", "wasm", "SELECT sum(float_chain(x)) FROM floats;")],
            "native pgrx", [Target("float kernel: wasm ÷ native pgrx", "wasm", "native pgrx", 1.3, True)],
            tolerance=1e-9, rows=float_rows),
        Workload(
            "fuel", f"fuel: the float kernel with fuel metering on and off, {float_rows:,} rows", "query",
            [Contender("wasm, fuel off", "wasm", "SELECT sum(float_chain(x)) FROM floats;", options=fuel_off),
             Contender("wasm, fuel on", "wasm", "SELECT sum(float_chain(x)) FROM floats;")],
            "wasm, fuel off", [Target("fuel: on ÷ off (float kernel)", "wasm, fuel on", "wasm, fuel off", 1.15, True)],
            rows=float_rows),
        *[text_workload(n, rows) for n, rows in size["text_rows"].items()],
        Workload(
            "rolling_std", f"time series: rolling_std over a {size['series_len']:,}-element float8 array, window 100",
            "query",
            [rolling("native pgrx", "native", "native_rolling_std"),
             rolling("PL/pgSQL", "plpgsql", "plpgsql_rolling_std"),
             rolling("PL/Python", "plpython", "py_rolling_std"),
             rolling("wasm", "wasm", "rolling_std"),
             Contender("SQL window stddev_samp", "builtin", f"SELECT count(s) FROM ({window_query('stddev_samp')}) w;",
                       f"SELECT sum(s) FROM ({window_query('stddev_samp')}) w;")],
            "native pgrx",
            [Target("rolling_std: wasm ÷ native pgrx", "wasm", "native pgrx", 1.3, True),
             Target("rolling_std: SQL window ÷ wasm", "SQL window stddev_samp", "wasm", 20.0, False)],
            tolerance=1e-6),
        Workload(
            "aggregate", f"aggregate: mean and stddev over {agg_rows:,} float8 rows", "query",
            [Contender("built-in avg, stddev_samp", "builtin", "SELECT avg(x), stddev_samp(x) FROM big;"),
             Contender("PL/pgSQL aggregate (one for both)", "plpgsql", "SELECT plpgsql_mean_stddev(x) FROM big;",
                       "SELECT r[1], r[2] FROM (SELECT plpgsql_mean_stddev(x) AS r FROM big) a;"),
             Contender("PL/Python aggregate (one for both)", "plpython", "SELECT py_mean_stddev(x) FROM big;",
                       "SELECT r[1], r[2] FROM (SELECT py_mean_stddev(x) AS r FROM big) a;"),
             Contender("wasm, one call per row", "wasm", "SELECT ts_mean_per_row(x), ts_stddev_per_row(x) FROM big;"),
             Contender("wasm batched", "wasm", "SELECT ts_mean(x), ts_stddev(x) FROM big;")],
            "built-in avg, stddev_samp",
            [Target("aggregate: wasm batched ÷ built-in", "wasm batched", "built-in avg, stddev_samp", 1.2, True)],
            tolerance=1e-9, rows=agg_rows),
        Workload(
            "aggregate_parallel", f"aggregate: mean and stddev over {agg_rows:,} rows with 2 parallel workers", "query",
            [mean_stddev("built-in, 2 workers", "builtin", parallel),
             mean_stddev("wasm batched, 2 workers", "wasm", parallel)],
            "built-in, 2 workers", tolerance=1e-9, rows=agg_rows),
        Workload(
            "aggregate_jit", f"aggregate: mean and stddev over {agg_rows:,} rows with jit on", "query",
            [mean_stddev("built-in, jit on", "builtin", jit_on),
             mean_stddev("wasm batched, jit on", "wasm", jit_on),
             mean_stddev("wasm one call per row, jit on", "wasm", jit_on, per_row=True)],
            "built-in, jit on", tolerance=1e-9, rows=agg_rows),
        Workload(
            "aggregate_batch_size", f"aggregate: batched ts_mean, ts_stddev over {agg_rows:,} rows by "
            "plwasm.aggregate_batch_size", "query",
            [mean_stddev(f"{n} rows{' (the default)' if n == 1024 else ''}", "wasm",
                         f"-c plwasm.aggregate_batch_size={n}") for n in (1024, 16, 128, 16384)],
            "1024 rows (the default)", tolerance=1e-9, rows=agg_rows),
        Workload(
            "moving_window", f"aggregate: a sliding window of 100 over {size['window_rows']:,} rows", "query",
            [sliding("built-in stddev_samp", "builtin", "stddev_samp"),
             sliding("wasm ts_stddev, moving form", "wasm", "ts_stddev"),
             sliding("wasm ts_stddev without the moving form", "wasm", "ts_stddev_plain")],
            "built-in stddev_samp", tolerance=1e-6),
        Workload(
            "component_scalar", f"components: SELECT sum(f(i, 1)) over {size['component_rows']:,} int rows, "
            "each language's component against the core ABI", "query",
            [Contender("native pgrx", "native", "SELECT sum(native_add(i, 1)) FROM component_ints;"),
             Contender("wasm core ABI", "wasm", "SELECT sum(wasm_add(i, 1)) FROM component_ints;"),
             *[Contender(f"{name} component", "wasm", f"SELECT sum({language}_component_add(i, 1)) FROM component_ints;")
               for language, name in COMPONENT_LANGUAGES],
             Contender("PL/pgSQL", "plpgsql", "SELECT sum(plpgsql_add(i, 1)) FROM component_ints;"),
             Contender("PL/Python", "plpython", "SELECT sum(py_add(i, 1)) FROM component_ints;")],
            "wasm core ABI",
            [Target("components: Rust component ÷ core ABI (scalar)", "Rust component", "wasm core ABI", 3.0, True),
             Target("components: C component ÷ core ABI (scalar)", "C component", "wasm core ABI", 3.0, True),
             Target("components: Python component ÷ PL/Python (scalar)", "Python component", "PL/Python", 3.0, True)],
            rows=size["component_rows"]),
        Workload(
            "component_array", f"components: rolling_mean over a {size['series_len']:,}-element float8 array, "
            "window 100, each language's component against the core ABI (Python and JavaScript without fuel "
            "metering: their interpreted loops need more fuel than a call can have)", "query",
            [rolling("native pgrx", "native", "native_rolling_mean"),
             rolling("wasm core ABI (Rust SDK)", "wasm", "rolling_mean"),
             *[rolling(f"{name} component" + (" (fuel metering off)" if language in INTERPRETED else ""), "wasm",
                       f"{language}_component_rolling_mean", FUEL_OFF if language in INTERPRETED else "")
               for language, name in COMPONENT_LANGUAGES],
             rolling("PL/pgSQL", "plpgsql", "plpgsql_rolling_mean"),
             rolling("PL/Python", "plpython", "py_rolling_mean")],
            "wasm core ABI (Rust SDK)",
            [Target("components: Rust component ÷ core ABI (float8[])", "Rust component", "wasm core ABI (Rust SDK)",
                    2.0, True),
             Target("components: C component ÷ core ABI (float8[])", "C component", "wasm core ABI (Rust SDK)",
                    2.0, True)],
            tolerance=1e-9),
        Workload(
            "component_aggregate", f"components: a batched stddev over {size['component_rows']:,} float8 rows, "
            "a component's resource in each language against the core ABI and the built-in", "query",
            [Contender("built-in stddev_samp", "builtin", "SELECT stddev_samp(x) FROM component_floats;"),
             Contender("wasm core ABI (ts_stddev)", "wasm", "SELECT ts_stddev(x) FROM component_floats;"),
             *[Contender(f"{name} component", "wasm", f"SELECT {language}_component_stddev(x) FROM component_floats;")
               for language, name in COMPONENT_LANGUAGES]],
            "wasm core ABI (ts_stddev)",
            [Target("components: Python component ÷ Rust component (batched aggregate)", "Python component",
                    "Rust component", 5.0, True)],
            tolerance=1e-9, rows=size["component_rows"]),
        Workload(
            "component_cold_start", "components: SELECT f(1, 1) as the first call of a new connection (pgbench -C), "
            "each language's component against the core ABI", "connect",
            [Contender("native pgrx", "native", "SELECT native_add(1, 1);"),
             Contender("wasm core ABI (100 KB module)", "wasm", "SELECT sdk_add(1, 1);"),
             *[Contender(f"{name} component", "wasm", f"SELECT {language}_component_add(1, 1);")
               for language, name in COMPONENT_LANGUAGES],
             Contender("PL/Python", "plpython", "SELECT py_add(1, 1);")],
            "wasm core ABI (100 KB module)"),
        Workload(
            "python_scalar", f"trusted Python: SELECT sum(f(i, 1)) over {size['component_rows']:,} int rows, "
            "`return a + b` in plpython3wasm and PL/Python", "query",
            [Contender("Rust SDK", "wasm", "SELECT sum(sdk_add(i, 1)) FROM component_ints;"),
             Contender("PL/pgSQL", "plpgsql", "SELECT sum(plpgsql_add(i, 1)) FROM component_ints;"),
             Contender("PL/Python", "plpython", "SELECT sum(py_add(i, 1)) FROM component_ints;"),
             Contender("plpython3wasm", "wasm", "SELECT sum(pw_add(i, 1)) FROM component_ints;")],
            "Rust SDK",
            [Target("trusted Python: plpython3wasm ÷ PL/Python (scalar)", "plpython3wasm", "PL/Python", 3.0, True)],
            rows=size["component_rows"]),
        Workload(
            "python_text", f"trusted Python: `return t.upper()` over {size['text_rows'][16]:,} 16 B texts", "query",
            [Contender(label, kind, f"SELECT sum(octet_length({function}(t))) FROM texts_16;",
                       f"SELECT sum(hashtext({function}(t))) FROM texts_16;")
             for label, kind, function in [("Rust SDK", "wasm", "ascii_upper"), ("PL/pgSQL", "plpgsql", "plpgsql_upper"),
                                           ("PL/Python", "plpython", "py_upper"),
                                           ("plpython3wasm", "wasm", "pw_upper")]],
            "Rust SDK", rows=size["text_rows"][16]),
        Workload(
            "python_array", f"trusted Python: a rolling_mean loop over a {size['series_len']:,}-element float8 array, "
            "window 100 (plpython3wasm without fuel metering: the loop needs more fuel than a call can have)", "query",
            [rolling("Rust SDK", "wasm", "rolling_mean"),
             rolling("PL/pgSQL", "plpgsql", "plpgsql_rolling_mean"),
             rolling("PL/Python", "plpython", "py_rolling_mean"),
             rolling("plpython3wasm (fuel metering off)", "wasm", "pw_rolling_mean", FUEL_OFF)],
            "Rust SDK", tolerance=1e-9),
        Workload(
            "python_cold_start", "trusted Python: SELECT f(1, 1) as the first call of a new connection (pgbench -C)",
            "connect",
            [Contender("Rust SDK", "wasm", "SELECT sdk_add(1, 1);"),
             Contender("PL/Python", "plpython", "SELECT py_add(1, 1);"),
             Contender("plpython3wasm", "wasm", "SELECT pw_add(1, 1);")],
            "Rust SDK"),
        Workload(
            "sdk_scalar", f"SDK cost: add over {scalar_rows:,} int rows, the SDK against hand-written WAT", "query",
            [Contender("hand-written WAT", "wasm", "SELECT sum(hand_add(i, 1)) FROM ints;"),
             Contender("SDK #[udf]", "wasm", "SELECT sum(sdk_add(i, 1)) FROM ints;")],
            "hand-written WAT", rows=scalar_rows),
        Workload(
            "sdk_bytea", f"SDK cost: length of a 512-byte bytea over {size['blob_rows']:,} rows, the SDK against "
            "hand-written WAT", "query",
            [Contender("hand-written WAT", "wasm", "SELECT sum(hand_byte_length(b)) FROM blobs;"),
             Contender("SDK #[udf]", "wasm", "SELECT sum(sdk_byte_length(b)) FROM blobs;")],
            "hand-written WAT", rows=size["blob_rows"]),
        Workload(
            "cold_start", "cold start: SELECT f(1, 1) as the first call of a new connection (pgbench -C)", "connect",
            one_call("wasm (100 KB module)"),
            "native pgrx",
            [Target("cold start: wasm ÷ native pgrx (tps)", "wasm (100 KB module)", "native pgrx", 0.9, False)]),
        Workload(
            "compile", "compile cost: making the 141 KB time-series module ready in a new backend", "compile",
            [Contender("compile from scratch", "wasm", "off"), Contender("load precompiled", "wasm", "on")],
            "load precompiled",
            [Target("compile ÷ load precompiled", "compile from scratch", "load precompiled", 50.0, False)]),
        Workload(
            "throughput", "throughput: SELECT f(1, 1), pgbench -c 2 -j 2 -M prepared", "throughput",
            one_call("wasm"),
            "native pgrx",
            [Target("throughput: wasm ÷ native pgrx (tps)", "wasm", "native pgrx", 0.95, False)]),
    ]
