/* Private to cflame: the event clock. Ticks are converted to ns at flush. */
#ifndef CFLAME_CLOCK_H
#define CFLAME_CLOCK_H

#include "core.h"
#include "platform.h"

enum { CFLAME__CLOCK_TSC = 0, CFLAME__CLOCK_MONO = 1, CFLAME__CLOCK_USER = 2 };

extern int cflame__clock_mode;
uint64_t cflame__clock_now_slow(void);

/* Precise mode (the session's sinks compensate): the TSC is read fenced and
 * the span paths fence their own work off the program's, so that what
 * cflame costs per pair is the same around any work and can be taken out.
 * Fast paths are off meanwhile. Set with the session (sink lock). */
extern int cflame__precise;

/* One read per enter/exit; the TSC case stays inline. `precise`: the
 * caller's read of cflame__precise (the span paths need it again). */
static inline uint64_t cflame__now_as(int precise) {
  if (cflame_unlikely(precise)) /* only ever set with the TSC */
    return cflame__plat_tsc_fenced();
  if (cflame_likely(ld_relaxed(&cflame__clock_mode) == CFLAME__CLOCK_TSC))
    return cflame__plat_tsc();
  return cflame__clock_now_slow();
}
static inline uint64_t cflame__now(void) {
  return cflame__now_as(ld_relaxed(&cflame__precise));
}

/* Nanoseconds for event timestamps: the user clock if set, else
 * CLOCK_MONOTONIC (never needs calibration). */
uint64_t cflame__clock_event_ns(void);

/* Picks the source on first use (idempotent). */
void cflame__clock_init(void);
/* Starts calibration for a new session (sink lock held). */
void cflame__clock_session_start(void);
/* Converts a tick count to ns with the best rate known now. */
extern uint64_t cflame__clock_mult;
/* (a * b) >> 32 and (n << 32) / d, truncated to 64 bits, without a 128-bit
 * type (32-bit targets have none); equal to the __int128 forms. */
static inline uint64_t cflame__mul_shr32(uint64_t a, uint64_t b) {
  uint64_t ah = a >> 32, al = a & 0xffffffffu, bh = b >> 32,
           bl = b & 0xffffffffu;
  return ((ah * bh) << 32) + ah * bl + al * bh + ((al * bl) >> 32);
}
static inline uint64_t cflame__shl32_div(uint64_t n, uint64_t d) {
  uint64_t q = n / d, r = n % d;
  for (int i = 0; i < 32; i++) { /* long division, one bit at a time */
    uint64_t carry = r >> 63;
    r <<= 1;
    q <<= 1;
    if (carry || r >= d) {
      r -= d;
      q |= 1;
    }
  }
  return q;
}
static inline uint64_t cflame__clock_to_ns(uint64_t ticks) {
  uint64_t m = cflame__clock_mult;
  if (m == UINT64_C(1) << 32)
    return ticks;
#ifdef __SIZEOF_INT128__
  __extension__ typedef unsigned __int128 u128_t;
  return (uint64_t)(((u128_t)ticks * m) >> 32);
#else
  return cflame__mul_shr32(ticks, m);
#endif
}
/* Switches the clock (caller holds the sink lock, no sink installed);
 * source < 0 keeps the forced source. */
void cflame__clock_select(cflame_clock_fn fn, void *ctx, int source);
/* Bumped by every clock change: timestamps of different generations do
 * not compare. */
extern uint32_t cflame__clock_gen;
/* The user clock, or NULL. */
cflame_clock_fn cflame__clock_user(void **ctx);
/* Refreshes the tick rate (sink lock held); cheap once calibrated. */
void cflame__clock_calibrate(void);

#endif /* CFLAME_CLOCK_H */
