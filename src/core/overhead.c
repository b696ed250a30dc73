/* cflame's own cost per span pair, measured at a session's first flush,
 * and node self times with it taken out (the "compensate" options). Every
 * span pair costs some nanoseconds between its two clock reads and around
 * them; they land in the span itself (from its enter's clock read to the
 * work, and from the work to its exit's read: "in") and in its parent (the
 * rest of the enter and exit calls: "out"). Tiny spans called millions of
 * times would look many times wider than they are. Compensating sinks put
 * the session in precise mode (clock.h), where that cost no longer depends
 * on the work around it. */
#include "clock.h"
#include "core.h"
#include "sort.h"

#include <stdlib.h>
#include <string.h>

static uint64_t cost_in, cost_out; /* ticks per enter; sink lock */

/* Pairs per round (after some to warm up), rounds: about 5 ms in precise
 * mode, whose pairs cost about 77 ns. */
#define WARM   2000
#define PAIRS  5000
#define ROUNDS 9

/* cflame's own callsites, measured whatever the filter says. */
#define CAL_SITE(nm)                                                           \
  {                                                                            \
    .name = (nm), .target = "cflame", .file = "overhead.c",                    \
    .level = CFLAME_LEVEL_ERROR, .interest_ = CFLAME_INTEREST_UNKNOWN          \
  }
static cflame_callsite_t cal_parent = CAL_SITE("calibration");
static cflame_callsite_t cal_child = CAL_SITE("calibration_child");

/* A function with a span, as instrumented code has. Its call and return
 * count as cflame's (the loop without spans makes no call): in precise
 * mode they no longer hide under the work around them. */
__attribute__((noinline)) static void cal_fn(void) {
  cflame_token_t tok = cflame_scope_enter(&cal_child);
  __asm__ __volatile__("" ::: "memory");
  cflame_scope_exit(tok);
}

__attribute__((noinline)) static uint64_t pairs(int n, int spans) {
  uint64_t t0 = cflame__plat_tsc();
  for (int i = 0; i < n; i++) {
    if (spans)
      cal_fn();
    else
      __asm__ __volatile__("" ::: "memory");
  }
  return cflame__plat_tsc() - t0;
}

static int u64_cmp(const void *a, const void *b, void *ctx) {
  (void)ctx;
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return (x > y) - (x < y);
}

/* The middle of v[0..n) (sorts it). */
static uint64_t median(uint64_t *v, int n) {
  cflame__sort(v, (size_t)n, sizeof *v, u64_cmp, NULL);
  return v[n / 2];
}

/* One measurement on a private thread state that no sink ever sees: the
 * calling thread's own state is set aside meanwhile. */
static int measure(uint64_t *in, uint64_t *out) {
  cflame__thread_t *saved = cflame__tls;
  cflame__thread_t *t = cflame__thread_scratch();
  if (!t)
    return -1;
  cflame__tls = t;
  int ok = 0;
  cflame_token_t p = cflame_scope_enter(&cal_parent);
  if (p) {
    (void)pairs(WARM, 1); /* nodes, caches */
    uint64_t child0 = 0;
    cflame_node_t n;
    for (uint32_t i = 0; i < cflame_thread_nodes(t); i++)
      if (cflame_thread_node(t, i, &n) == 0 && n.depth == 2)
        child0 = n.self_ticks;
    uint64_t with = pairs(PAIRS, 1), without = pairs(PAIRS, 0), child = 0;
    for (uint32_t i = 0; i < cflame_thread_nodes(t); i++)
      if (cflame_thread_node(t, i, &n) == 0 && n.depth == 2)
        child = n.self_ticks - child0;
    cflame_scope_exit(p);
    if (with > without && child <= with - without) {
      *in = child / PAIRS;
      *out = (with - without - child) / PAIRS;
      ok = 1;
    }
  }
  cflame__tls = saved;
  cflame__thread_scratch_free(t);
  return ok ? 0 : -1;
}

void cflame__overhead_calibrate(void) {
  cost_in = cost_out = 0;
  /* An injected clock is exact by contract: nothing to take out. */
  if (ld_relaxed(&cflame__clock_mode) == CFLAME__CLOCK_USER)
    return;
#ifdef CFLAME_FAKE_TSC
  return;
#endif
  if (!cflame__registry_register(&cal_parent) ||
      !cflame__registry_register(&cal_child))
    return;
  /* Whatever the filter says, these two are measured. */
  st_relaxed(&cal_parent.interest_, CFLAME_INTEREST_ON);
  st_relaxed(&cal_child.interest_, CFLAME_INTEREST_ON);
  uint64_t ins[ROUNDS], outs[ROUNDS];
  int n = 0;
  for (int r = 0; r < ROUNDS; r++)
    if (measure(&ins[n], &outs[n]) == 0)
      n++;
  if (n > 0) {
    cost_in = median(ins, n);
    cost_out = median(outs, n);
  }
}

/* Measured once per session, when a sink first asks (a flush, with the
 * sink lock held): sessions whose sinks never compensate pay nothing. Again
 * if precise mode came or went since (another sink). */
static uint64_t cal_session;
static int cal_precise;

static void ensure(void) {
  uint64_t s = ld_relaxed(&cflame__live) >> 16;
  int precise = ld_relaxed(&cflame__precise);
  if (s && (cal_session != s || cal_precise != precise)) {
    cal_session = s;
    cal_precise = precise;
    cflame__overhead_calibrate();
  }
}

void cflame_sink_overhead(uint64_t *in_ticks, uint64_t *out_ticks) {
  ensure();
  if (in_ticks)
    *in_ticks = ld_relaxed(&cost_in);
  if (out_ticks)
    *out_ticks = ld_relaxed(&cost_out);
}

int cflame_thread_own_ticks(const cflame_thread_t *t, uint64_t *out,
                            uint32_t n) {
  uint32_t have = cflame_thread_nodes(t);
  if (!out)
    return -1;
  ensure();
  if (have > n) /* nodes added meanwhile: the first n, whole */
    have = n;
  uint64_t in = ld_relaxed(&cost_in), cost = ld_relaxed(&cost_out);
  cflame_node_t node;
  for (uint32_t i = 0; i < have; i++) {
    out[i] = 0;
    if (cflame_thread_node(t, i, &node) == 0)
      out[i] = node.self_ticks;
  }
  /* A node's children's enters cost it `out` each; its own, `in` each. */
  for (uint32_t i = 1; i < have; i++) {
    if (cflame_thread_node(t, i, &node) != 0)
      continue;
    uint64_t own = in * node.enters, up = cost * node.enters;
    out[i] = out[i] > own ? out[i] - own : 0;
    out[node.parent] = out[node.parent] > up ? out[node.parent] - up : 0;
  }
  return (int)have;
}
