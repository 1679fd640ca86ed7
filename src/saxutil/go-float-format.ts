/**
 * The two ways Saxml's saxutil prints floats, reproduced exactly (JavaScript's `String(x)` switches to
 * exponent form only at 1e21, so neither can be had from the built-ins):
 *
 * - {@link formatFloat}: `strconv.FormatFloat(v, 'G', 8, 64)`, used in tables: 8 significant digits,
 *   exponent form `1.2345679E+08` when the decimal exponent is < −4 or ≥ 8.
 * - {@link formatFloatShortest}: Go's `%v`, used for streaming scores: the shortest digits that read back
 *   as the same double, exponent form `1.234567e+06` when the exponent is < −4 or ≥ 6.
 */

/** Significant decimal digits (no leading or trailing zeros) and the decimal exponent of the first one. */
interface Digits {
  readonly digits: string;
  /** The value is `0.d1d2… × 10^(exponent + 1)`, i.e. `d1.d2… × 10^exponent`. */
  readonly exponent: number;
}

/** Formats like Go's `strconv.FormatFloat(v, 'G', 8, 64)`: `0.5`, `-1.2345679`, `1.2345679E+08`, `1E-05`. */
export function formatFloat(value: number): string {
  const special = formatSpecial(value);
  if (special !== undefined) return special;
  const sign = value < 0 || Object.is(value, -0) ? "-" : "";
  if (value === 0) return `${sign}0`;
  const rounded = roundToSignificant(exactDigits(Math.abs(value)), 8);
  return sign + layout(rounded, rounded.exponent < -4 || rounded.exponent >= 8, "E");
}

/** Formats like Go's `%v` for a float64: `-1.5`, `123456`, `1.234567e+06`, `1e-05`, `0.0001`. */
export function formatFloatShortest(value: number): string {
  const special = formatSpecial(value);
  if (special !== undefined) return special;
  const sign = value < 0 || Object.is(value, -0) ? "-" : "";
  if (value === 0) return `${sign}0`;
  // toExponential() without an argument gives the shortest digits that round-trip, as Go's %v does.
  const [mantissa = "", exponent = "0"] = Math.abs(value).toExponential().split("e");
  const shortest = { digits: mantissa.replace(".", ""), exponent: Number(exponent) };
  return sign + layout(shortest, shortest.exponent < -4 || shortest.exponent >= 6, "e");
}

function formatSpecial(value: number): string | undefined {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return undefined;
}

/** Writes digits in exponent form (`d.ddd` + `E±XX`) or plain decimal form. */
function layout({ digits, exponent }: Digits, exponentForm: boolean, e: "e" | "E"): string {
  if (exponentForm) {
    const mantissa = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    const expSign = exponent < 0 ? "-" : "+";
    return `${mantissa}${e}${expSign}${String(Math.abs(exponent)).padStart(2, "0")}`;
  }
  if (exponent < 0) return `0.${"0".repeat(-exponent - 1)}${digits}`;
  if (digits.length <= exponent + 1) return digits + "0".repeat(exponent + 1 - digits.length);
  return `${digits.slice(0, exponent + 1)}.${digits.slice(exponent + 1)}`;
}

/**
 * The exact decimal expansion of a positive finite double. A double is `m × 2^e`; for e < 0 that equals
 * `m × 5^−e / 10^−e`, so BigInt arithmetic gives every digit without rounding.
 */
function exactDigits(value: number): Digits {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, value);
  const bits = view.getBigUint64(0);
  const biasedExponent = Number((bits >> 52n) & 0x7ffn);
  const fraction = bits & ((1n << 52n) - 1n);
  const mantissa = biasedExponent === 0 ? fraction : fraction | (1n << 52n);
  const binaryExponent = (biasedExponent === 0 ? 1 : biasedExponent) - 1075;
  let text: string;
  let pointPosition: number;
  if (binaryExponent >= 0) {
    text = (mantissa << BigInt(binaryExponent)).toString();
    pointPosition = text.length;
  } else {
    text = (mantissa * 5n ** BigInt(-binaryExponent)).toString();
    pointPosition = text.length + binaryExponent;
  }
  const digits = text.replace(/0+$/, "");
  return { digits, exponent: pointPosition - 1 };
}

/** Rounds to `count` significant digits, ties to even (as Go does for exact halfway values). */
function roundToSignificant({ digits, exponent }: Digits, count: number): Digits {
  if (digits.length <= count) return { digits, exponent };
  const kept = digits.slice(0, count);
  const next = Number(digits[count]);
  const restNonZero = /[1-9]/.test(digits.slice(count + 1));
  const lastOdd = Number(kept[count - 1]) % 2 === 1;
  const roundUp = next > 5 || (next === 5 && (restNonZero || lastOdd));
  if (!roundUp) return { digits: kept.replace(/0+$/, ""), exponent };
  const bumped = (BigInt(kept) + 1n).toString();
  if (bumped.length > count)
    return { digits: bumped.slice(0, count).replace(/0+$/, ""), exponent: exponent + 1 };
  return { digits: bumped.replace(/0+$/, ""), exponent };
}
