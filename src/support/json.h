/* Private to cflame: allocation-free JSON encoders for the timeline sink. */
#ifndef CFLAME_JSON_H
#define CFLAME_JSON_H

/* Every encoder writes into a caller buffer that has room for its
 * documented worst case, returns the number of bytes written and writes no
 * NUL. The output is always valid JSON (RFC 8259) and valid UTF-8, whatever
 * the input: a sink reserves the worst case, encodes in place and commits. */

#include <stddef.h>
#include <stdint.h>

#include "cflame.h"

/* Bytes of output per byte of string input, at most: a control character
 * becomes \u00XX (6 bytes); an invalid sequence of k >= 1 bytes becomes
 * U+FFFD (3 bytes); U+2028/U+2029 (3 bytes) become \u2028/\u2029 (6);
 * anything else is copied. */
#define CFLAME__JSON_STR_PER_BYTE 6
/* Worst-case output of cflame__json_str for n input bytes (quotes included). */
#define CFLAME__JSON_STR_MAX(n) ((size_t)(n)*CFLAME__JSON_STR_PER_BYTE + 2)
/* Worst cases of the number encoders: "18446744073709551.615",
 * "18446744073709551615", "-9223372036854775808", and a %.17g double
 * ("-2.2250738585072014e-308" is 24) with room to spare. */
#define CFLAME__JSON_TS_MAX  21
#define CFLAME__JSON_U64_MAX 20
#define CFLAME__JSON_I64_MAX 20
#define CFLAME__JSON_F64_MAX 32
/* Bytes read at most from one key or string value of cflame__json_args
 * (a bounded strlen: field strings may be hostile). */
#define CFLAME__JSON_ARG_STR_MAX 1024

/* Writes s[0..n) as a quoted JSON string. `"` and `\` are escaped; the
 * controls U+0000-U+001F as \b \t \n \f \r or \u00XX (lowercase hex); DEL is
 * copied; U+2028 and U+2029 become \u2028 and \u2029 (safe in JavaScript
 * source). Invalid UTF-8 (stray continuation bytes, C0/C1/F5-FF, overlongs,
 * surrogates, code points above U+10FFFF, truncated sequences) is repaired:
 * each maximal subpart of an ill-formed sequence becomes one U+FFFD, as the
 * WHATWG/Unicode decoders do. s may be NULL (then n is ignored: ""). Writes
 * at most CFLAME__JSON_STR_MAX(n) bytes. */
size_t cflame__json_str(char *out, const char *s, size_t n);

/* Writes ns / 1000 as microseconds with exactly three decimals and no
 * exponent: 0 -> "0.000", 1234567 -> "1234.567". At most
 * CFLAME__JSON_TS_MAX bytes. */
size_t cflame__json_ts(char *out, uint64_t ns);

/* Writes v in decimal. At most CFLAME__JSON_U64_MAX bytes. */
size_t cflame__json_u64(char *out, uint64_t v);

/* Writes v in decimal. At most CFLAME__JSON_I64_MAX bytes. */
size_t cflame__json_i64(char *out, int64_t v);

/* Writes a finite double as the shortest of %.15g/%.16g/%.17g that reads
 * back to the same value, with a '.' whatever the locale's decimal point
 * ("0.1", "-0", "1e+300"); NaN and infinities, which JSON cannot express,
 * become null. At most CFLAME__JSON_F64_MAX bytes. */
size_t cflame__json_f64(char *out, double v);

/* Writes the fields as a JSON object: {"key":value,...} in order. Numbers
 * and booleans as JSON numbers and literals (see json_f64 for doubles),
 * strings with json_str. Keys are written as given, so a repeated key
 * repeats (valid JSON; readers keep the last). A NULL key is written
 * "(null)", a NULL string value null, an unknown type null. Keys and string values are read up to
 * CFLAME__JSON_ARG_STR_MAX bytes (a longer one is cut before the UTF-8
 * sequence that crosses the bound). A field whose worst case does not fit in
 * the rest of cap is left out and counted in *dropped (may be NULL); the
 * object is always closed. Needs cap >= 2; writes at most cap bytes. */
size_t cflame__json_args(char *out, size_t cap, const cflame_field_t *f,
                         size_t n, size_t *dropped);

#endif /* CFLAME_JSON_H */
