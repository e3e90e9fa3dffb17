/**
 * printf(3) formatting for the kselftest API.
 *
 * Every kselftest.h call takes a printf format and writes it through
 * unchanged (ksft_test_result_pass("%s\n", name) adds no newline of its
 * own), so the TypeScript mirror takes the same formats and produces the same
 * bytes for them. Supported: flags `-+ #0`, width and precision (also `*`),
 * length modifiers `hh h l ll j z t L q` and conversions `d i u o x X c s p e
 * E f F g G %`.
 *
 * Integers are never truncated to the C type's width (JavaScript numbers do
 * not carry one); a negative value under an unsigned conversion wraps to the
 * width its length modifier names (32 bits without one), as the C varargs
 * promotion would.
 */

export type PrintfArg = string | number | bigint | boolean | null | undefined;

const SPEC = /%([-+ #0]*)(\*|\d+)?(?:\.(\*|\d*))?(hh|h|ll|l|j|z|t|L|q)?([a-zA-Z%])/g;

interface Spec {
  minus: boolean;
  plus: boolean;
  space: boolean;
  alt: boolean;
  zero: boolean;
  width: number;
  precision: number | undefined;
  length: string;
  conv: string;
}

function toBigInt(v: PrintfArg, fmt: string, conv: string): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new TypeError(`printf: %${conv} got ${v} in format ${JSON.stringify(fmt)}`);
    return BigInt(Math.trunc(v));
  }
  if (typeof v === 'boolean') return v ? 1n : 0n;
  if (v === null) return 0n;
  throw new TypeError(`printf: %${conv} needs a number, got ${typeof v} in format ${JSON.stringify(fmt)}`);
}

function unsignedBits(length: string): number {
  switch (length) {
    case 'hh':
      return 8;
    case 'h':
      return 16;
    case '':
      return 32;
    default:
      return 64;
  }
}

function pad(body: string, prefix: string, spec: Spec, numeric: boolean): string {
  const len = prefix.length + body.length;
  if (len >= spec.width) return prefix + body;
  const fill = spec.width - len;
  if (spec.minus) return prefix + body + ' '.repeat(fill);
  if (spec.zero && numeric) return prefix + '0'.repeat(fill) + body;
  return ' '.repeat(fill) + prefix + body;
}

function formatInteger(v: PrintfArg, spec: Spec, fmt: string): string {
  let n = toBigInt(v, fmt, spec.conv);
  const signed = spec.conv === 'd' || spec.conv === 'i';
  if (!signed && n < 0n) n = BigInt.asUintN(unsignedBits(spec.length), n);
  let sign = '';
  if (n < 0n) {
    sign = '-';
    n = -n;
  } else if (signed && spec.plus) {
    sign = '+';
  } else if (signed && spec.space) {
    sign = ' ';
  }
  const radix = spec.conv === 'o' ? 8 : spec.conv === 'x' || spec.conv === 'X' ? 16 : 10;
  let digits = n.toString(radix);
  if (spec.conv === 'X') digits = digits.toUpperCase();
  if (spec.precision !== undefined) {
    if (spec.precision === 0 && n === 0n) digits = '';
    else if (digits.length < spec.precision) digits = '0'.repeat(spec.precision - digits.length) + digits;
  }
  let prefix = sign;
  if (spec.alt) {
    if (spec.conv === 'o' && !digits.startsWith('0')) digits = '0' + digits;
    if ((spec.conv === 'x' || spec.conv === 'X') && n !== 0n) prefix += spec.conv === 'x' ? '0x' : '0X';
  }
  // C ignores the 0 flag when a precision is given for an integer.
  const zeroOk = spec.precision === undefined;
  return pad(digits, prefix, { ...spec, zero: spec.zero && zeroOk }, true);
}

/**
 * toFixed() for a non-negative finite x, rounding an exact tie to even as
 * glibc does (toFixed() rounds ties up: 99.25 -> "99.3", printf "99.2").
 */
function fixed(x: number, prec: number): string {
  const plain = x.toFixed(prec);
  if (x >= 1e21 || !Number.isFinite(x)) return plain;
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const hi = view.getUint32(0);
  const lo = view.getUint32(4);
  const biased = (hi >>> 20) & 0x7ff;
  let mant = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  let exp = biased - 1075;
  if (biased === 0) exp = -1074;
  else mant |= 1n << 52n;
  // x = mant * 2^exp exactly; scaled = x * 10^prec as the fraction num / den.
  let num = mant * 10n ** BigInt(prec);
  let den = 1n;
  if (exp >= 0) num <<= BigInt(exp);
  else den <<= BigInt(-exp);
  if ((2n * num) % den !== 0n || ((2n * num) / den) % 2n === 0n) return plain;
  // An exact tie between q and q + 1: keep the even one.
  const q = num / den;
  const n = q % 2n === 0n ? q : q + 1n;
  const digits = n.toString().padStart(prec + 1, '0');
  return prec === 0 ? digits : `${digits.slice(0, -prec)}.${digits.slice(-prec)}`;
}

function expDigits(s: string): string {
  // JavaScript writes e+5, C writes e+05: at least two exponent digits.
  return s.replace(/e([+-])(\d)$/, 'e$10$2');
}

function formatFloat(v: PrintfArg, spec: Spec, fmt: string): string {
  let x: number;
  if (typeof v === 'number') x = v;
  else if (typeof v === 'bigint') x = Number(v);
  else throw new TypeError(`printf: %${spec.conv} needs a number, got ${typeof v} in format ${JSON.stringify(fmt)}`);
  const upper = spec.conv === 'E' || spec.conv === 'F' || spec.conv === 'G';
  let sign = '';
  if (x < 0 || Object.is(x, -0)) {
    sign = '-';
    x = -x;
  } else if (spec.plus) {
    sign = '+';
  } else if (spec.space) {
    sign = ' ';
  }
  let body: string;
  if (!Number.isFinite(x)) {
    body = Number.isNaN(x) ? 'nan' : 'inf';
    return pad(upper ? body.toUpperCase() : body, sign, spec, false);
  }
  const prec = spec.precision ?? 6;
  const c = spec.conv.toLowerCase();
  if (c === 'f') {
    body = fixed(x, prec);
    if (spec.alt && prec === 0) body += '.';
  } else if (c === 'e') {
    body = expDigits(x.toExponential(prec));
  } else {
    const p = prec === 0 ? 1 : prec;
    const exp = x === 0 ? 0 : Number(x.toExponential(p - 1).split('e')[1]);
    if (p > exp && exp >= -4) body = fixed(x, p - 1 - exp);
    else body = expDigits(x.toExponential(p - 1));
    if (!spec.alt && body.includes('.')) body = body.replace(/\.?0+(?=e|$)/, '');
  }
  if (upper) body = body.toUpperCase();
  return pad(body, sign, spec, true);
}

/** vsprintf(3): formats `fmt` with `args`; too few arguments is an error. */
export function vsprintf(fmt: string, args: readonly PrintfArg[]): string {
  let next = 0;
  const take = (what: string): PrintfArg => {
    if (next >= args.length) throw new TypeError(`printf: missing argument for ${what} in format ${JSON.stringify(fmt)}`);
    return args[next++];
  };
  return fmt.replace(SPEC, (whole, flags: string, width: string | undefined, precision: string | undefined, length: string | undefined, conv: string) => {
    if (conv === '%') return '%';
    const spec: Spec = {
      minus: flags.includes('-'),
      plus: flags.includes('+'),
      space: flags.includes(' '),
      alt: flags.includes('#'),
      zero: flags.includes('0'),
      width: 0,
      precision: undefined,
      length: length ?? '',
      conv,
    };
    if (width === '*') {
      const w = Number(toBigInt(take(whole), fmt, conv));
      if (w < 0) {
        spec.minus = true;
        spec.width = -w;
      } else {
        spec.width = w;
      }
    } else if (width !== undefined) {
      spec.width = Number(width);
    }
    if (precision === '*') {
      const p = Number(toBigInt(take(whole), fmt, conv));
      spec.precision = p < 0 ? undefined : p;
    } else if (precision !== undefined) {
      spec.precision = precision === '' ? 0 : Number(precision);
    }
    switch (conv) {
      case 'd':
      case 'i':
      case 'u':
      case 'o':
      case 'x':
      case 'X':
        return formatInteger(take(whole), spec, fmt);
      case 'e':
      case 'E':
      case 'f':
      case 'F':
      case 'g':
      case 'G':
        return formatFloat(take(whole), spec, fmt);
      case 'c': {
        const v = take(whole);
        const ch = typeof v === 'string' ? v.slice(0, 1) : String.fromCharCode(Number(toBigInt(v, fmt, conv) & 0xffn));
        return pad(ch, '', spec, false);
      }
      case 's': {
        const v = take(whole);
        // glibc prints "(null)" for a NULL %s argument.
        let s = v === null || v === undefined ? '(null)' : String(v);
        if (spec.precision !== undefined) s = s.slice(0, spec.precision);
        return pad(s, '', spec, false);
      }
      case 'p': {
        const v = take(whole);
        const n = v === null || v === undefined ? 0n : toBigInt(v, fmt, conv);
        // glibc prints "(nil)" for a null pointer.
        return pad(n === 0n ? '(nil)' : '0x' + BigInt.asUintN(64, n).toString(16), '', spec, false);
      }
      default:
        throw new TypeError(`printf: unsupported conversion ${whole} in format ${JSON.stringify(fmt)}`);
    }
  });
}

/** sprintf(3): `fmt` formatted with `args` (the conversions listed at the top of this module). */
export function sprintf(fmt: string, ...args: PrintfArg[]): string {
  return vsprintf(fmt, args);
}
