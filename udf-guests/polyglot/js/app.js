// The polyglot library (../wit/library.wit) in JavaScript, made a component by npm's componentize-js
// (StarlingMonkey inside). Exports are named in camelCase; an exported interface is an object, a
// resource a class; throwing from a function whose WIT result is result<T, string> returns err.

export function add(a, b) {
  return (a + b) | 0; // s32 arithmetic wraps
}

export function rollingMean(values, window) {
  if (window < 1) throw `window must be at least 1, not ${window}`;
  const means = new Float64Array(values.length);
  let sum = 0;
  for (let i = 0; i < values.length; i++) {
    sum += values[i];
    if (i >= window) sum -= values[i - window];
    means[i] = sum / Math.min(i + 1, window);
  }
  return means;
}

export function safeDivide(a, b) {
  if (b === 0) throw `cannot divide ${a} by zero`;
  return a / b;
}

export function reverseBytes(data) {
  return Uint8Array.from(data).reverse();
}

export function trapIf(really) {
  if (really) throw new Error("asked to trap");
  return 1;
}

export function spin(seed) {
  let x = BigInt.asUintN(64, seed);
  for (;;) x = BigInt.asUintN(64, x * 6364136223846793005n + 1n);
}

export function hoard(mebibytes) {
  const kept = [];
  for (let i = 0; i < mebibytes; i++) kept.push(new Uint8Array(1 << 20).fill(1));
  return BigInt(kept.reduce((n, block) => n + block.length, 0));
}

export function summarize(values) {
  if (values.length === 0) return { count: 0n, mean: undefined, minimum: undefined, maximum: undefined };
  let sum = 0, minimum = values[0], maximum = values[0];
  // Indexed loops: the interpreter's iterator protocol costs several times the arithmetic.
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    sum += v;
    if (v < minimum) minimum = v;
    if (v > maximum) maximum = v;
  }
  return { count: BigInt(values.length), mean: sum / values.length, minimum, maximum };
}

export function scaleReading(r, factor) {
  return { sensor: r.sensor, value: r.value * factor, note: r.note === undefined ? undefined : r.note + " (scaled)" };
}

export function words(s) {
  return s.split(" ").filter((w) => w !== "");
}

export function wordPositions(s) {
  return words(s).map((word, i) => ({ ordinal: i + 1, word, characters: [...word].length }));
}

export function probeSandbox() {
  // JavaScript here has no file API, and its fetch() traps (wasi:http is disabled at build time and
  // not linked by plwasm), which would end this call: the environment is what can be tried.
  const file = "file: refused (no file API)";
  const env = `env: ${Object.keys(globalThis.process?.env ?? {}).length} variables`;
  const net = `net: refused (fetch is ${typeof fetch === "function" ? "a stub that traps" : "absent"})`;
  console.log("probe-sandbox ran");
  return `${file}; ${env}; ${net}`;
}

export const text = {
  upper: (s) => s.toUpperCase(),
  byteLength: (s) => (s === undefined ? undefined : new TextEncoder().encode(s).length),
};

class Moments {
  constructor() {
    this.n = 0;
    this.average = 0;
    this.m2 = 0;
  }

  // Merge in the moments of nb other values (Chan's formula).
  takeIn(nb, meanB, m2B) {
    if (nb === 0) return;
    const n = this.n + nb;
    const delta = meanB - this.average;
    this.average = this.average + (delta * nb) / n;
    this.m2 = this.m2 + m2B + (delta * delta * this.n * nb) / n;
    this.n = n;
  }

  push(values) {
    if (values.length === 0) return;
    let sum = 0;
    for (let i = 0; i < values.length; i++) sum += values[i];
    const mean = sum / values.length;
    let m2 = 0;
    for (let i = 0; i < values.length; i++) m2 += (values[i] - mean) * (values[i] - mean);
    this.takeIn(values.length, mean, m2);
  }

  retract(values) {
    for (const x of values) {
      if (this.n === 0) return false;
      this.n -= 1;
      if (this.n === 0) {
        this.average = 0;
        this.m2 = 0;
        continue;
      }
      const delta = x - this.average;
      this.average -= delta / this.n;
      this.m2 -= delta * (x - this.average);
    }
    return true;
  }

  merge(other) {
    this.takeIn(other.n, other.average, other.m2);
  }

  serialize() {
    const view = new DataView(new ArrayBuffer(24));
    view.setBigUint64(0, BigInt(this.n), true);
    view.setFloat64(8, this.average, true);
    view.setFloat64(16, this.m2, true);
    return new Uint8Array(view.buffer);
  }

  static deserialize(bytes) {
    const view = new DataView(Uint8Array.from(bytes).buffer);
    const state = new Moments();
    state.n = Number(view.getBigUint64(0, true));
    state.average = view.getFloat64(8, true);
    state.m2 = view.getFloat64(16, true);
    return state;
  }

  mean() {
    return this.n > 0 ? this.average : undefined;
  }

  stddev() {
    return this.n > 1 ? Math.sqrt(this.m2 / (this.n - 1)) : undefined;
  }
}

export const stats = { Moments };
