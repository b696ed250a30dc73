/* The event clock: TSC where it is invariant, else CLOCK_MONOTONIC, or a
 * user clock. Events store raw ticks; only flush converts them. */
#include "clock.h"

#include <string.h>

int cflame__clock_mode = CFLAME__CLOCK_MONO;
int cflame__precise;
static cflame_clock_fn user_fn;
static void *user_ctx;
static int forced = CFLAME_CLOCK_AUTO;
static pthread_once_t init_once = PTHREAD_ONCE_INIT;

/* ns = ticks * cflame__clock_mult >> 32; cflame__clock_mult == 1 << 32 when ticks already are ns.
 * Written by calibration under the sink lock, read by its holder. */
uint64_t cflame__clock_mult = UINT64_C(1) << 32;

static uint64_t cal_tsc0, cal_ns0; /* calibration origin */

/* Shortest interval the rate is measured over: 20 us, a 1e-3 error at
 * worst, and only for runs that short. */
#define CAL_MIN_NS 20000u

/* Narrowest TSC window seen around a CLOCK_MONOTONIC read (0: none yet).
 * Calibration's state, under the sink lock like the rest of it. */
static uint64_t narrowest = 0;

/* CLOCK_MONOTONIC now, and in *tsc the TSC at the same moment: the middle
 * of two reads around it, which halves the error of one read. An interrupt,
 * a page fault (the first read of a process) or the hypervisor taking the
 * CPU between the reads puts that middle microseconds off, and the origin
 * pair's error stays in every rate of the run: so the pair is read again,
 * up to 8 times in all, until its window is within twice the narrowest
 * seen (the first time: the narrowest of the 8). */
static uint64_t pair_read(uint64_t *tsc) {
  uint64_t best_ns = 0, best_tsc = 0, best_w = UINT64_MAX;
  for (int i = 0; i < 8; i++) {
    uint64_t a = cflame__plat_tsc();
    uint64_t ns = cflame__plat_monotonic_ns();
    uint64_t b = cflame__plat_tsc();
    uint64_t w = b - a;
    if (w < best_w) {
      best_w = w;
      best_ns = ns;
      best_tsc = a + w / 2;
    }
    if (narrowest && best_w <= 2 * narrowest)
      break;
  }
  if (!narrowest || best_w < narrowest)
    narrowest = best_w ? best_w : 1;
  *tsc = best_tsc;
  return best_ns;
}

uint64_t cflame__clock_now_slow(void) {
  switch (ld_relaxed(&cflame__clock_mode)) {
  case CFLAME__CLOCK_TSC:
    return cflame__plat_tsc();
  case CFLAME__CLOCK_USER:
    return user_fn(user_ctx);
  default:
    return cflame__plat_monotonic_ns();
  }
}

uint64_t cflame__clock_event_ns(void) {
#ifdef CFLAME_FAKE_TSC
  return cflame__fake_tsc();
#endif
  if (ld_relaxed(&cflame__clock_mode) == CFLAME__CLOCK_USER)
    return user_fn(user_ctx);
  return cflame__plat_monotonic_ns();
}

#ifdef CFLAME_FAKE_TSC
uint64_t cflame__fake_tsc(void) {
  return user_fn ? user_fn(user_ctx) : cflame__plat_monotonic_ns();
}

static void pick(void) {
  st_relaxed(&cflame__clock_mode, CFLAME__CLOCK_TSC); /* ticks are ns: no calibration */
  cflame__clock_mult = UINT64_C(1) << 32;
}
#else
static void pick(void) {
  if (user_fn)
    st_relaxed(&cflame__clock_mode, CFLAME__CLOCK_USER);
  else if (forced != CFLAME_CLOCK_MONOTONIC && CFLAME__HAVE_TSC &&
           cflame__plat_tsc_usable())
    st_relaxed(&cflame__clock_mode, CFLAME__CLOCK_TSC);
  else
    st_relaxed(&cflame__clock_mode, CFLAME__CLOCK_MONO);
  cflame__clock_mult = UINT64_C(1) << 32;
}
#endif

static void init_once_fn(void) {
  pick();
}

void cflame__clock_init(void) {
  pthread_once(&init_once, init_once_fn);
}

void cflame__clock_session_start(void) {
  cflame__clock_init();
  /* One origin for the process: the rate is measured over all of it, so
   * only the first 10 ms after the first sink ever pay for calibration. */
  if (ld_relaxed(&cflame__clock_mode) == CFLAME__CLOCK_TSC && cal_ns0 == 0) {
    cal_ns0 = pair_read(&cal_tsc0);
  }
}

void cflame__clock_calibrate(void) {
#ifdef CFLAME_FAKE_TSC
  return;
#endif
  if (ld_relaxed(&cflame__clock_mode) != CFLAME__CLOCK_TSC)
    return;
  /* The rate over the whole run so far: the error (about the jitter of one
   * paired read, tens of ns, over the run's length) shrinks as it runs. A
   * flush right after install waits at most CAL_MIN_NS for a usable span;
   * a teardown never waits longer. */
  uint64_t tsc, ns;
  do
    ns = pair_read(&tsc);
  while (ns - cal_ns0 < CAL_MIN_NS);
  uint64_t dt = tsc - cal_tsc0;
  if (dt == 0)
    return;
  cflame__clock_mult = cflame__shl32_div(ns - cal_ns0, dt);
}


uint32_t cflame__clock_gen;

void cflame__clock_select(cflame_clock_fn fn, void *ctx, int source) {
  cflame__clock_init();
  st_relaxed(&cflame__clock_gen, cflame__clock_gen + 1);
  user_fn = fn;
  user_ctx = ctx;
  if (source >= 0)
    forced = source;
  pick();
}

cflame_clock_fn cflame__clock_user(void **ctx) {
  *ctx = user_ctx;
  return user_fn;
}

const char *cflame_clock_name(void) {
  cflame__clock_init();
  switch (ld_relaxed(&cflame__clock_mode)) {
  case CFLAME__CLOCK_TSC:
    return "tsc";
  case CFLAME__CLOCK_USER:
    return "user";
  default:
    return "monotonic";
  }
}
