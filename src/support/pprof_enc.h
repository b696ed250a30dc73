/* Private to cflame: a streaming encoder of pprof's profile.proto. */
#ifndef CFLAME_PPROF_ENC_H
#define CFLAME_PPROF_ENC_H

/* Writes one uncompressed profile.proto message (what `go tool pprof`,
 * Pyroscope, Parca and npm pprof-format read) with libc only.
 *
 * Shape of the file: samples go straight to the writer as they are added
 * (protobuf fields may come in any order); functions, locations, the string
 * table and the scalar fields follow at finish. Two sample types, `calls`
 * (count) and `wall` (nanoseconds), default `wall`; period_type wall/
 * nanoseconds with period 1, because the values are exact measured totals,
 * not samples taken at a rate, and one nanosecond is their resolution (a
 * reader that multiplies by the period changes nothing). One mapping (id 1,
 * has_functions/filenames/line_numbers set, so no reader tries to symbolize
 * addresses); every location has address 0, mapping 1 and one line.
 *
 * Memory: a fixed 64 KiB output buffer plus the interned tables: 16 bytes
 * per distinct string plus its bytes, 24 per function, 24 per location,
 * and 8 to 16 bytes of hash index per entry (arrays grow by doubling, so up
 * to twice that). It never grows with the number or depth of samples, and
 * finish allocates nothing. 400 frame names take 119 KB in all.
 *
 * Errors are negative errno values. Allocation failure: function/location
 * return 0 (a string interned on the way may stay, unused); a sample with a 0 or unknown location id,
 * or whose thread label cannot be interned, is not written (-EINVAL /
 * -ENOMEM, counted in dropped). What was written stays a valid profile.
 * The first write error (the writer's -errno; 0 bytes three times is -EIO)
 * is sticky: every later sample/finish returns it; the file is then cut.
 *
 * Strings are written as UTF-8 (proto3 requires it): invalid bytes are
 * replaced by `?` when a string is interned. Not thread-safe: one owner at a time. */

#include <cflame.h>

#include <stddef.h>
#include <stdint.h>

typedef struct cflame__pprof_s cflame__pprof_t;

/* A new encoder writing through fn(ctx, buf, len) (returns bytes written or
 * -errno; short writes and -EINTR are retried). NULL if out of memory or fn
 * is NULL. Nothing is written before the first sample or finish. */
cflame__pprof_t *cflame__pprof_open(cflame_write_fn fn, void *ctx);

/* Interned function id (>= 1) for name[0..n) and file (NUL-terminated, or
 * NULL: none): the same name and file give the same id, whose start_line is
 * the one given first. 0 if out of memory (or name is NULL with n > 0). */
uint64_t cflame__pprof_function(cflame__pprof_t *p, const char *name, size_t n,
                                const char *file, int64_t start_line);

/* Interned location id (>= 1) for a function id and a line (0: unknown).
 * 0 if out of memory or function_id is not one this encoder returned. */
uint64_t cflame__pprof_location(cflame__pprof_t *p, uint64_t function_id,
                                int64_t line);

/* Writes one sample: loc[0..n) leaf first (the format's order), its two
 * values, and a `thread` label when thread_label is not NULL. Returns 0,
 * -EINVAL (an id 0 or unknown, or called after finish), -ENOMEM (label not
 * interned) or the sticky write error. */
int cflame__pprof_sample(cflame__pprof_t *p, const uint64_t *loc, size_t n,
                         int64_t calls, int64_t wall_ns,
                         const char *thread_label);

/* Completes the profile: mapping, locations, functions, string table, sample
 * and period types, time_nanos (start, ns since the epoch) and
 * duration_nanos, then writes everything out. Returns 0 or the first write
 * error (-EINVAL if already finished). */
int cflame__pprof_finish(cflame__pprof_t *p, int64_t time_nanos,
                         int64_t duration_nanos);

/* Starts the next profile on the same writer after finish, keeping the
 * interned functions and locations (their ids stay valid; a profile may
 * list ones its samples do not use) and clearing the write error. For a
 * sink that writes a complete profile at every flush. */
void cflame__pprof_restart(cflame__pprof_t *p);

/* Counters of the current profile. */
typedef struct cflame__pprof_stats_s {
  uint64_t samples; /* written */
  uint64_t dropped; /* refused by cflame__pprof_sample */
  uint64_t bytes;   /* handed to the writer so far */
  size_t functions, locations, strings;
  size_t mem; /* bytes allocated by the encoder */
} cflame__pprof_stats_t;
void cflame__pprof_stats(const cflame__pprof_t *p, cflame__pprof_stats_t *st);

/* Frees the encoder without writing anything more. NULL-safe. */
void cflame__pprof_close(cflame__pprof_t *p);

#endif /* CFLAME_PPROF_ENC_H */
