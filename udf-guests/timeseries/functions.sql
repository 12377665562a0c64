-- SQL declarations of the time-series library, for a database where the module is installed as
-- 'timeseries' (scripts/setup.sh does both). Every function is IMMUTABLE, STRICT and PARALLEL SAFE.
CREATE OR REPLACE FUNCTION rolling_mean(series float8[], window_size int) RETURNS float8[]
    IMMUTABLE STRICT PARALLEL SAFE LANGUAGE wasm AS 'timeseries';
CREATE OR REPLACE FUNCTION rolling_std(series float8[], window_size int) RETURNS float8[]
    IMMUTABLE STRICT PARALLEL SAFE LANGUAGE wasm AS 'timeseries';
CREATE OR REPLACE FUNCTION ewma(series float8[], alpha float8) RETURNS float8[]
    IMMUTABLE STRICT PARALLEL SAFE LANGUAGE wasm AS 'timeseries';
CREATE OR REPLACE FUNCTION rolling_min(series float8[], window_size int) RETURNS float8[]
    IMMUTABLE STRICT PARALLEL SAFE LANGUAGE wasm AS 'timeseries';
CREATE OR REPLACE FUNCTION rolling_max(series float8[], window_size int) RETURNS float8[]
    IMMUTABLE STRICT PARALLEL SAFE LANGUAGE wasm AS 'timeseries';
CREATE OR REPLACE FUNCTION first_diff(series float8[]) RETURNS float8[]
    IMMUTABLE STRICT PARALLEL SAFE LANGUAGE wasm AS 'timeseries';
CREATE OR REPLACE FUNCTION zscore_flags(series float8[], k float8) RETURNS bool[]
    IMMUTABLE STRICT PARALLEL SAFE LANGUAGE wasm AS 'timeseries';
CREATE OR REPLACE FUNCTION rates(times timestamptz[], series float8[]) RETURNS float8[]
    IMMUTABLE STRICT PARALLEL SAFE LANGUAGE wasm AS 'timeseries';
CREATE OR REPLACE FUNCTION resample_linear(times timestamptz[], series float8[], start timestamptz,
                                           step_seconds float8, points int) RETURNS float8[]
    IMMUTABLE STRICT PARALLEL SAFE LANGUAGE wasm AS 'timeseries';
CREATE OR REPLACE FUNCTION lttb(times timestamptz[], series float8[], threshold int) RETURNS int[]
    IMMUTABLE STRICT PARALLEL SAFE LANGUAGE wasm AS 'timeseries';
