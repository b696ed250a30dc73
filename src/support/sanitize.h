/* Private to cflame: frame-name sanitizer. */
#ifndef CFLAME_SANITIZE_H
#define CFLAME_SANITIZE_H

/* Frame names end up between `;` in folded-stack lines that inferno,
 * flamegraph.pl and speedscope must all read the same way; the rules are
 * FORMAT.md 1 and 7-13. Everything here is pure, allocation-free and linear
 * in the input, so it may run on hostile names. */

#include <stddef.h>

/* Max bytes of a sanitized name, excluding the NUL. */
#define CFLAME__NAME_MAX 1024

enum {
  /* flags: the frame is the first of a line: rule 12 applies */
  CFLAME__SAN_ROOT = 1u
};

/* Bits of *report. */
enum {
  /* any byte was replaced, removed or the name was empty/NULL */
  CFLAME__SAN_CHANGED = 1u,
  /* input was longer than fit and was clamped */
  CFLAME__SAN_TRUNCATED = 2u
};

/* Writes the sanitized form of in[0..len) to out (capacity cap bytes,
 * cap >= 16; output is NUL-terminated and at most min(cap-1,
 * CFLAME__NAME_MAX) bytes). in may be NULL (=> "[unknown]"). Returns the
 * output length. *report (may be NULL) receives CFLAME__SAN_* bits.
 * out must not overlap in.
 *
 * Leading whitespace is dropped before the clamp, so it never uses up the
 * budget; TRUNCATED is set only if something other than trailing
 * whitespace was lost (TRUNCATED implies CHANGED). */
size_t cflame__sanitize(char *out, size_t cap, const char *in, size_t len,
                        unsigned flags, unsigned *report);

/* Same for a NUL-terminated string, reading at most (CFLAME__NAME_MAX * 4)
 * bytes of it (never strlen an unbounded hostile string). When no NUL is
 * found within that bound the rest is unknown, so TRUNCATED is set and a
 * UTF-8 sequence cut by the bound is dropped rather than turned into `?`. */
size_t cflame__sanitize_cstr(char *out, size_t cap, const char *in,
                             unsigned flags, unsigned *report);

/* Does buf[0..len) already obey every rule (so it can be used as is)?
 * Also requires 1 <= len <= CFLAME__NAME_MAX. */
int cflame__name_is_clean(const char *buf, size_t len, unsigned flags);

#endif
