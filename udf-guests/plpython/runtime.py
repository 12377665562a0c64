"""plwasm's Python runtime: runs the bodies of LANGUAGE plpython3wasm functions (wit/runtime.wit).

componentize-py snapshots this module after importing it, so everything imported here is in the
component and nothing else is; docs/python.md lists the standard library modules that are.
"""

import builtins
import io
import os
import struct
import sys
import traceback

# The standard library a function body may import: only modules imported before componentize-py's
# snapshot are in the component.
import array  # noqa: F401
import base64  # noqa: F401
import binascii  # noqa: F401
import bisect  # noqa: F401
import calendar  # noqa: F401
import cmath  # noqa: F401
import collections  # noqa: F401
import copy  # noqa: F401
import csv  # noqa: F401
import dataclasses  # noqa: F401
import datetime  # noqa: F401
import decimal
import difflib  # noqa: F401
import enum  # noqa: F401
import fractions  # noqa: F401
import functools  # noqa: F401
import hashlib  # noqa: F401
import heapq  # noqa: F401
import html  # noqa: F401
import itertools  # noqa: F401
import json
import math  # noqa: F401
import operator  # noqa: F401
import random  # noqa: F401
import re  # noqa: F401
import statistics  # noqa: F401
import string  # noqa: F401
import textwrap  # noqa: F401
import time  # noqa: F401
import typing  # noqa: F401
import unicodedata  # noqa: F401
import urllib.parse  # noqa: F401
import uuid  # noqa: F401
import zlib  # noqa: F401

import wit_world
from componentize_py_types import Err

# Value tags, both ways (docs/python.md, "Encoding").
NONE, BOOL, INT, FLOAT, STR, BYTES, DECIMAL, ARRAY, RECORD = range(9)
OK, FAILURE = b"\x00", 255

# ----------------------------------------------------------------------------------------------
# The sandbox. WASI grants the component nothing, so files, sockets and processes fail anyway;
# this makes them fail with messages that say why.

_REFUSED = {
    "socket": "network", "_socket": "network", "ssl": "network", "select": "network",
    "selectors": "network", "asyncio": "network", "http.client": "network", "urllib.request": "network",
    "ftplib": "network", "smtplib": "network", "subprocess": "processes", "_posixsubprocess": "processes",
    "multiprocessing": "processes", "threading": "threads", "concurrent": "threads", "ctypes": "native code",
}


def _refused(name):
    top = name.partition(".")[0]
    return _REFUSED.get(name) or _REFUSED.get(top)


class _Sandboxed:
    """A finder, first on sys.meta_path, that refuses the modules the sandbox has no use for."""

    def find_spec(self, name, path=None, target=None):
        what = _refused(name)
        if what:
            raise ImportError(f"plwasm's sandbox has no {what}: module '{name}' cannot be imported", name=name)
        return None


def _no_files(file, *args, **kwargs):
    raise PermissionError(f"plwasm's sandbox has no file system: cannot open {file!r}")


for _name in [m for m in sys.modules if _refused(m)]:
    del sys.modules[_name]
sys.meta_path.insert(0, _Sandboxed())
builtins.open = io.open = _no_files
# The environment seen at the snapshot is the build's: a function sees none.
os.environ._data.clear()
for _name in ("system", "popen", "fork", "execv", "execve", "spawnv", "kill"):
    if hasattr(os, _name):
        delattr(os, _name)

# ----------------------------------------------------------------------------------------------
# Arguments: tagged values from plwasm (or one struct when every argument is fixed-width).

_unpack_i64 = struct.Struct("<q").unpack_from
_unpack_f64 = struct.Struct("<d").unpack_from
_unpack_u32 = struct.Struct("<I").unpack_from


def _read(data, at):
    """The value at `at` in `data`, and where the next one starts."""
    tag = data[at]
    at += 1
    if tag == FLOAT:
        return _unpack_f64(data, at)[0], at + 8
    if tag == INT:
        return _unpack_i64(data, at)[0], at + 8
    if tag == NONE:
        return None, at
    if tag == BOOL:
        return data[at] != 0, at + 1
    if tag in (STR, BYTES, DECIMAL):
        (length,) = _unpack_u32(data, at)
        at += 4
        raw = data[at:at + length]
        at += length
        if tag == STR:
            return raw.decode(), at
        if tag == BYTES:
            return bytes(raw), at
        return decimal.Decimal(raw.decode()), at
    if tag == ARRAY:
        ndims = data[at]
        at += 1
        dims = [_unpack_u32(data, at + 4 * i)[0] for i in range(ndims)]
        at += 4 * ndims
        if ndims == 0:
            return [], at
        return _read_dims(data, at, dims)
    if tag == RECORD:
        (count,) = _unpack_u32(data, at)
        at += 4
        record = {}
        for _ in range(count):
            (length,) = _unpack_u32(data, at)
            at += 4
            name = data[at:at + length].decode()
            record[name], at = _read(data, at + length)
        return record, at
    raise ValueError(f"plwasm sent an unknown value tag {tag}")


def _read_dims(data, at, dims):
    items = []
    for _ in range(dims[0]):
        if len(dims) == 1:
            item, at = _read(data, at)
        else:
            item, at = _read_dims(data, at, dims[1:])
        items.append(item)
    return items, at


def _one_text(data):
    return (data.decode(),)


def _read_all(data, count):
    values, at = [], 0
    for _ in range(count):
        value, at = _read(data, at)
        values.append(value)
    return values

# ----------------------------------------------------------------------------------------------
# Results: the value the body returned, made the declared type's shape and tagged. A type is a
# letter (b bool, i integer, f float, y bytea, t anything read from text, v void) or a list:
# ["a", element type] for an array, ["r", [[name, type], ...]] for a composite.

_pack_i64 = struct.Struct("<Bq").pack
_pack_f64 = struct.Struct("<Bd").pack
_pack_len = struct.Struct("<BI").pack


def _text(out, value):
    raw = value.encode() if type(value) is str else str(value).encode()
    out += _pack_len(STR, len(raw))
    out += raw


def _write(out, value, ty):
    if value is None:
        out.append(NONE)
    elif ty == "f":
        if type(value) is float:
            out += _pack_f64(FLOAT, value)
        else:
            _text(out, value)
    elif ty == "i":
        if type(value) is int and -(2**63) <= value < 2**63:
            out += _pack_i64(INT, value)
        else:
            _text(out, value)
    elif ty == "t":
        _text(out, value)
    elif ty == "b":
        out += bytes((BOOL, 1 if value else 0))
    elif ty == "y":
        raw = bytes(value)
        out += _pack_len(BYTES, len(raw))
        out += raw
    elif ty == "v":
        out.append(NONE)
    elif ty[0] == "a":
        _write_array(out, value, ty[1])
    else:
        _write_record(out, value, ty[1])


def _is_dimension(value, element):
    """Whether a value inside an array is one more dimension rather than an element."""
    if isinstance(value, list):
        return True
    # A tuple is an element when the elements are composites, as in PL/Python.
    return isinstance(value, tuple) and element[0] != "r"


def _write_array(out, value, element):
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__") or not hasattr(value, "__getitem__"):
        raise TypeError(f"return value of a function returning an array must be a sequence, not {type(value).__name__}")
    dims, level = [], value
    while _is_dimension(level, element) or level is value:
        dims.append(len(level))
        if len(level) == 0 or not _is_dimension(level[0], element):
            break
        level = level[0]
    flat = []
    _flatten(value, dims, 0, element, flat)
    out += bytes((ARRAY, len(dims) if len(flat) else 0))
    if flat:
        for d in dims:
            out += struct.pack("<I", d)
    for item in flat:
        _write(out, item, element)


def _flatten(value, dims, depth, element, flat):
    if len(value) != dims[depth]:
        raise ValueError("multidimensional arrays must have sub-arrays of matching dimensions")
    if depth + 1 == len(dims):
        for item in value:
            if _is_dimension(item, element):
                raise ValueError("multidimensional arrays must have sub-arrays of matching dimensions")
            flat.append(item)
        return
    for item in value:
        if not _is_dimension(item, element):
            raise ValueError("multidimensional arrays must have sub-arrays of matching dimensions")
        _flatten(item, dims, depth + 1, element, flat)


def _write_record(out, value, fields):
    if isinstance(value, str):
        _text(out, value)
        return
    if isinstance(value, dict):
        missing = [name for name, _ in fields if name not in value]
        if missing:
            raise KeyError(f'key "{missing[0]}" not found in mapping')
        items = [value[name] for name, _ in fields]
    elif isinstance(value, (list, tuple)):
        if len(value) != len(fields):
            raise ValueError(f"length of returned sequence ({len(value)}) does not match the number of columns in the row ({len(fields)})")
        items = value
    else:
        items = []
        for name, _ in fields:
            if not hasattr(value, name):
                raise AttributeError(f'attribute "{name}" does not exist in Python object')
            items.append(getattr(value, name))
    out += struct.pack("<BI", RECORD, len(fields))
    for item, (_, ty) in zip(items, fields):
        _write(out, item, ty)

# ----------------------------------------------------------------------------------------------
# Functions: a body becomes `def <name>(<parameters>):` with the body indented under it.

GD = {}
# Defined functions by number, and their specialised calls (`_invoker`).
FUNCTIONS = []
INVOKERS = []


class Function:
    __slots__ = ("name", "run", "packed", "count", "returns", "set", "scope", "lines", "filename", "wants_args")


def _source(name, params, body):
    body = body.replace("\r\n", "\n").replace("\r", "\n")
    lines = body.split("\n")
    named = all(p.isidentifier() for p in params)
    header = f"def __plwasm_function({', '.join(params)}):" if named else "def __plwasm_function(*args):"
    # As PL/Python does: each line one tab deeper, so the body's own indentation stays consistent.
    indented = "\n".join("\t" + line for line in lines) if body.strip() else "\tpass"
    return header + "\n" + indented + "\n", lines, named


# Body line n is line n + 1 of the source, under the header.
OFFSET = 1


def _compile(name, params, body):
    filename = f"<plpython3wasm {name}>"
    source, lines, named = _source(name, params, body)
    try:
        code = compile(source, filename, "exec")
    except SyntaxError as error:
        line = (error.lineno or OFFSET) - OFFSET
        text = lines[line - 1].strip() if 0 < line <= len(lines) else ""
        raise Err(_failure("syntax", f"{error.msg} (line {line})", f"line {line}: {text}" if text else ""))
    return code, lines, filename, named


def _failure(kind, message, detail=""):
    return f"{kind}\x1f{message}\x1f{detail}"


def _traceback(error, fn):
    """The Python traceback of an exception: the body's own frames, named by the function, and the
    standard library's; never the runtime's. A frame repeated more than 3 times is counted, as
    Python counts it."""
    frames = []
    for frame in traceback.extract_tb(error.__traceback__):
        if frame.filename == fn.filename:
            line = frame.lineno - OFFSET
            where = "<body>" if frame.name == "__plwasm_function" else frame.name
            text = f'  function "{fn.name}", line {line}, in {where}'
            if 0 < line <= len(fn.lines):
                text += "\n    " + fn.lines[line - 1].strip()
        elif frame.filename == __file__:
            continue
        else:
            text = f'  File "{frame.filename}", line {frame.lineno}, in {frame.name}'
        frames.append(text)
    if not frames:
        return ""
    lines, previous, repeats = ["Traceback (most recent call last):"], None, 0
    for text in frames + [None]:
        if text == previous:
            repeats += 1
            if repeats < 3:
                lines.append(text)
            continue
        if repeats >= 3:
            lines.append(f"  [Previous line repeated {repeats - 2} more times]")
        previous, repeats = text, 0
        if text is not None:
            lines.append(text)
    return "\n".join(lines)


def _exception(error, fn):
    kind = "memory" if isinstance(error, MemoryError) else "recursion" if isinstance(error, RecursionError) else "error"
    text = str(error)
    message = f"{type(error).__name__}: {text}" if text else type(error).__name__
    return _failure(kind, message, _traceback(error, fn))


def _define(name, params, arguments, returns, returns_set, body):
    code, lines, filename, named = _compile(name, params, body)
    fn = Function()
    fn.name, fn.lines, fn.filename = name, lines, filename
    fn.scope = {"__builtins__": builtins, "__name__": "__plwasm__", "GD": GD, "SD": {}}
    exec(code, fn.scope)
    fn.run = fn.scope.pop("__plwasm_function")
    # "text": one text argument, as its bytes alone; else a `struct` format, or tagged values.
    if arguments == "text":
        fn.packed = _one_text
    else:
        fn.packed = struct.Struct(arguments).unpack if arguments else None
    fn.count = len(params)
    fn.returns = json.loads(returns)
    fn.set = returns_set
    # PL/Python's `args` (every argument, in order) as a global, where the body reads it.
    fn.wants_args = named and "args" in body and "args" not in params
    return fn


def _answer(fn, value):
    out = bytearray(OK)
    if fn.set:
        rows = [] if value is None else list(value)
        out += struct.pack("<I", len(rows))
        for row in rows:
            _write(out, row, fn.returns)
    else:
        _write(out, value, fn.returns)
    return out.decode("latin-1")


_answer_i64 = struct.Struct("<BBq").pack
_answer_f64 = struct.Struct("<BBd").pack


def _invoker(fn):
    """The function's call, specialised once for how its arguments come and its result goes: every
    bytecode here runs once per row."""
    run, packed, count, answer = fn.run, fn.packed, fn.count, _answer
    if fn.wants_args:
        scope = fn.scope

        def read(arguments):
            args = packed(arguments) if packed else _read_all(arguments, count)
            scope["args"] = list(args)
            return args
    elif packed:
        read = packed
    else:
        def read(arguments):
            return _read_all(arguments, count)
    if fn.set:
        return lambda arguments: answer(fn, run(*read(arguments)))
    if fn.returns == "f":
        def invoke(arguments):
            result = run(*read(arguments))
            if type(result) is float:
                return _answer_f64(0, FLOAT, result).decode("latin-1")
            return answer(fn, result)
    elif fn.returns == "i":
        def invoke(arguments):
            result = run(*read(arguments))
            if type(result) is int and -(2**63) <= result < 2**63:
                return _answer_i64(0, INT, result).decode("latin-1")
            return answer(fn, result)
    elif fn.returns == "t":
        def invoke(arguments):
            result = run(*read(arguments))
            if type(result) is str:
                raw = result.encode()
                return "\x00" + (_pack_len(STR, len(raw)) + raw).decode("latin-1")
            return answer(fn, result)
    else:
        def invoke(arguments):
            return answer(fn, run(*read(arguments)))
    return invoke


class WitWorld(wit_world.WitWorld):
    def define(self, name, params, arguments, returns, returns_set, body):
        try:
            fn = _define(name, params, arguments, returns, returns_set, body)
            INVOKERS.append(_invoker(fn))
            FUNCTIONS.append(fn)
        except Err:
            raise
        except BaseException as error:
            raise Err(_failure("error", f"{type(error).__name__}: {error}"))
        return len(FUNCTIONS) - 1

    def check(self, name, params, body):
        _compile(name, params, body)

    def call(self, function, arguments):
        try:
            return INVOKERS[function](arguments)
        except BaseException as error:
            return chr(FAILURE) + _exception(error, FUNCTIONS[function])

    def run(self, body):
        fn = _define("inline_code_block", [], "", '"v"', False, body)
        try:
            fn.run()
        except BaseException as error:
            raise Err(_exception(error, fn))
