/* Stress: a thousand short-lived threads running random span scripts (misuse
 * included) while another thread flushes in a loop, with exact per-thread
 * totals; sinks installed and dropped under threads that keep recording;
 * and a writer that blocks while spans keep being recorded.
 *
 * CFLAME_STRESS_SCALE (0 < s <= 1, default 1) scales the thread lifetimes
 * and script lengths down for slow (sanitizer) builds; CFLAME_STRESS_SEED
 * replays a failing run (the seed is printed in every failure message). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <cflame.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "folded_check.h"
#include "testutil.h"

#define SLOTS 16      /* threads alive at once */
#define LIVES 1000    /* thread lifetimes per mode, at scale 1 */
#define OPS 2000      /* script steps per lifetime, at scale 1 */
#define MAX_OPEN 6    /* deepest stack a script builds */
#define ENDED_KEEP 16 /* recently ended tokens kept for stale ENDs */

static memout_t out;
static cflame_guard_t *guard;

/* The default error callback prints; this one only counts, and is safe to
 * call from several threads at once (errlog_fn is not). */
static unsigned long long err_calls;
static void quiet_errors(void *ctx, cflame_fault_t kind,
                         const char *msg) {
  (void)ctx;
  (void)kind;
  (void)msg;
  __atomic_fetch_add(&err_calls, 1, __ATOMIC_RELAXED);
}

static int setup(void **state) {
  (void)state;
  memset(&out, 0, sizeof out);
  cflame_on_error(quiet_errors, NULL);
  tclock_install(0);
  /* The scripts enter spans in a helper that returns with them open, on
   * purpose: their model is the token rules alone, without healing. */
  cflame_unwind_auto(false);
  return 0;
}

static int churn_stop;

static int teardown(void **state) {
  (void)state;
  /* After a failed assert, churners must not outlive their test. */
  __atomic_store_n(&churn_stop, 1, __ATOMIC_RELEASE);
  (void)cflame_guard_drop(guard);
  guard = NULL;
  memout_free(&out);
  cflame_on_error(NULL, NULL);
  (void)cflame_clock_set(NULL, NULL);
  cflame_unwind_auto(true);
  return 0;
}

static double stress_scale(void) {
  const char *s = getenv("CFLAME_STRESS_SCALE");
  double v = s && *s ? strtod(s, NULL) : 1.0;
  return v > 0 && v <= 1 ? v : 1.0;
}

static uint64_t stress_seed(void) {
  const char *s = getenv("CFLAME_STRESS_SEED");
  if (s && *s)
    return strtoull(s, NULL, 0);
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^
         (uint64_t)getpid();
}

/* splitmix64: a decent stream from any seed, including consecutive ones. */
static uint64_t next_rand(uint64_t *s) {
  uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));
  z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
  return z ^ (z >> 31);
}

/* --- (a) random scripts on many threads ---------------------------------- */

static const char *const site_names[8] = {"alpha", "beta",  "gamma", "delta",
                                          "eps",   "zeta",  "eta",   "theta"};

/* Eight static callsites: each case is its own CFLAME_SPAN. */
static cflame_token_t enter_site(unsigned k) {
  switch (k & 7) {
  case 0: { CFLAME_SPAN(t, "alpha"); return t; }
  case 1: { CFLAME_SPAN(t, "beta"); return t; }
  case 2: { CFLAME_SPAN(t, "gamma"); return t; }
  case 3: { CFLAME_SPAN(t, "delta"); return t; }
  case 4: { CFLAME_SPAN(t, "eps"); return t; }
  case 5: { CFLAME_SPAN(t, "zeta"); return t; }
  case 6: { CFLAME_SPAN(t, "eta"); return t; }
  default: { CFLAME_SPAN(t, "theta"); return t; }
  }
}

/* One thread lifetime: its script's inputs and what it expects to be
 * written. Workers only fill this in; the main thread asserts. */
typedef struct life_s {
  unsigned n;
  int ops;
  uint64_t seed;
  uint64_t expected;  /* clock at last enter/exit - clock at first enter */
  unsigned long long stale, out_of_order, open_at_exit, zero_tokens;
  int name_failed;
} life_t;

static void set_name(life_t *l, unsigned variant) {
  char name[32];
  if (variant == 0)
    snprintf(name, sizeof name, "t-%u", l->n);
  else /* renames stay recognisable as the same thread */
    snprintf(name, sizeof name, "t-%u.%u", l->n, variant);
  if (cflame_thread_name(name) != 0)
    l->name_failed = 1;
}

static void *life_main(void *arg) {
  life_t *l = arg;
  uint64_t rs = l->seed;
  cflame_token_t open[MAX_OPEN], ended[ENDED_KEEP];
  unsigned depth = 0, nended = 0;
  int started = 0;
  uint64_t first = 0, last = 0;

  tclock_ns = next_rand(&rs) % 1000000000u; /* each thread its own origin */
  set_name(l, 0);
  for (int op = 0; op < l->ops; op++) {
    uint64_t r = next_rand(&rs);
    unsigned pick = (unsigned)(r % 100);
    r >>= 8;
    if (pick < 25) {
      tclock_ns += r % 1001; /* 0 included: empty slices */
    } else if (pick < 60) {
      /* Deeper stacks are entered less often, so depth stays small. */
      if (depth < MAX_OPEN && (depth < 3 || r % 4 == 0)) {
        cflame_token_t t = enter_site((unsigned)(r >> 4));
        if (t == 0) {
          l->zero_tokens++;
          continue;
        }
        if (!started) {
          started = 1;
          first = tclock_ns;
        }
        last = tclock_ns;
        open[depth++] = t;
      }
    } else if (pick < 82) {
      if (depth > 0) {
        cflame_token_t t = open[--depth];
        CFLAME_SPAN_END(t);
        last = tclock_ns;
        ended[nended++ % ENDED_KEEP] = t;
      }
    } else if (pick < 90) {
      /* END of a lower span: it and everything above exit now. */
      if (depth >= 2) {
        unsigned i = (unsigned)(r % (depth - 1));
        CFLAME_SPAN_END(open[i]);
        last = tclock_ns;
        l->out_of_order++;
        while (depth > i)
          ended[nended++ % ENDED_KEEP] = open[--depth];
      }
    } else if (pick < 97) {
      if (nended > 0) {
        unsigned k = nended < ENDED_KEEP ? nended : ENDED_KEEP;
        CFLAME_SPAN_END(ended[r % k]); /* ignored: no time is charged */
        l->stale++;
      }
    } else {
      set_name(l, (unsigned)(r % 4));
    }
  }
  /* Spans still open are closed at thread exit, at this clock: one more
   * event, unless nothing is open. */
  l->open_at_exit = depth;
  if (depth > 0)
    last = tclock_ns;
  l->expected = started ? last - first : 0;
  return NULL;
}

static int stop_flushing;
static size_t *marks; /* aggregate: out.len after each flush that wrote */
static size_t nmarks, capmarks;
static int flusher_rc;
static int record_marks;

static void *flusher(void *arg) {
  (void)arg;
  size_t seen = 0;
  while (!__atomic_load_n(&stop_flushing, __ATOMIC_ACQUIRE)) {
    int rc = cflame_guard_flush(guard);
    if (rc != 0) {
      flusher_rc = rc;
      return NULL;
    }
    /* glibc mutexes are not fair: without this the loop can keep the sink
     * lock from exiting threads and full rings for seconds. */
    sched_yield();
    /* In aggregate mode only this thread writes (through flush), so the
     * end of each batch is out.len right after the flush returns. */
    if (record_marks && out.len != seen) {
      if (nmarks == capmarks) {
        capmarks = capmarks ? 2 * capmarks : 1024;
        size_t *p = realloc(marks, capmarks * sizeof *p);
        if (!p) {
          flusher_rc = CFLAME_ENOMEM;
          return NULL;
        }
        marks = p;
      }
      marks[nmarks++] = seen = out.len;
    }
  }
  return NULL;
}

/* Checks one line's shape and adds its count to its thread's sum. Returns
 * 0, or -1 with a reason in why. */
static int take_line(const char *p, size_t len, unsigned nlives,
                     unsigned long long *sums, char *why, size_t cap) {
  const char *sp = memchr(p, ' ', len);
  if (!sp || memchr(sp + 1, ' ', len - (size_t)(sp + 1 - p))) {
    snprintf(why, cap, "not one space");
    return -1;
  }
  const char *c = sp + 1, *end = p + len;
  if (c == end || *c < '1' || *c > '9') {
    snprintf(why, cap, "bad count");
    return -1;
  }
  unsigned long long count = 0;
  for (; c < end; c++) {
    if (*c < '0' || *c > '9') {
      snprintf(why, cap, "bad count");
      return -1;
    }
    count = count * 10 + (unsigned long long)(*c - '0');
  }
  /* Root: t-N or t-N.K (K a rename variant). */
  if (strncmp(p, "t-", 2) != 0) {
    snprintf(why, cap, "bad root");
    return -1;
  }
  const char *q = p + 2;
  unsigned n = 0;
  if (q == sp || *q < '0' || *q > '9') {
    snprintf(why, cap, "bad root");
    return -1;
  }
  while (*q >= '0' && *q <= '9')
    n = n * 10 + (unsigned)(*q++ - '0');
  if (*q == '.' && q[1] >= '1' && q[1] <= '3')
    q += 2;
  if ((*q != ';' && q != sp) || n >= nlives) {
    snprintf(why, cap, "bad root");
    return -1;
  }
  unsigned frames = 0;
  while (q != sp) {
    q++; /* ';' */
    const char *f = q;
    while (q != sp && *q != ';')
      q++;
    size_t flen = (size_t)(q - f);
    int known = 0;
    for (int k = 0; k < 8 && !known; k++) {
      size_t nl = strlen(site_names[k]);
      known = flen == 13 + nl && !memcmp(f, "test_stress::", 13) &&
              !memcmp(f + 13, site_names[k], nl);
    }
    if (!known || ++frames > MAX_OPEN) {
      snprintf(why, cap, "bad frame");
      return -1;
    }
  }
  sums[n] += count;
  return 0;
}

static void run_stress(cflame_flame_mode_t mode) {
  const int stream = mode == CFLAME_FLAME_STREAM;
  const double scale = stress_scale();
  const uint64_t seed = stress_seed();
  unsigned nlives = (unsigned)(LIVES * scale);
  int ops = (int)(OPS * scale);
  if (nlives < 2 * SLOTS)
    nlives = 2 * SLOTS;
  if (ops < 100)
    ops = 100;
  life_t *lives = calloc(nlives, sizeof *lives);
  unsigned long long *sums = calloc(nlives, sizeof *sums);
  assert_non_null(lives);
  assert_non_null(sums);

  cflame_flame_opts_t o = cflame_flame_opts_default();
  o.mode = mode;
  o.stream_records = 64; /* rings fill up: workers drain their own */
  assert_int_equal(cflame_flame_writer(memout_write, &out, &o, &guard), 0);
  cflame_stats_t before, after;
  cflame_stats(&before);

  __atomic_store_n(&stop_flushing, 0, __ATOMIC_RELEASE);
  flusher_rc = 0;
  nmarks = 0;
  record_marks = !stream;
  pthread_t fl;
  assert_int_equal(pthread_create(&fl, NULL, flusher, NULL), 0);

  /* Threads keep being created and joined: a new one replaces the oldest,
   * so exits, creations, scripts and flushes all overlap. */
  pthread_t th[SLOTS];
  for (unsigned i = 0; i < nlives; i++) {
    unsigned slot = i % SLOTS;
    if (i >= SLOTS)
      assert_int_equal(pthread_join(th[slot], NULL), 0);
    lives[i].n = i;
    lives[i].ops = ops;
    lives[i].seed = seed ^ (UINT64_C(0x9e3779b97f4a7c15) * (i + 1));
    int rc = pthread_create(&th[slot], NULL, life_main, &lives[i]);
    if (rc != 0)
      fail_msg("pthread_create: %s (seed %#llx)", strerror(rc),
               (unsigned long long)seed);
  }
  for (unsigned i = nlives > SLOTS ? nlives - SLOTS : 0; i < nlives; i++)
    assert_int_equal(pthread_join(th[i % SLOTS], NULL), 0);
  __atomic_store_n(&stop_flushing, 1, __ATOMIC_RELEASE);
  assert_int_equal(pthread_join(fl, NULL), 0);
  if (flusher_rc != 0)
    fail_msg("flush in the loop returned %d (seed %#llx)", flusher_rc,
             (unsigned long long)seed);
  assert_int_equal(cflame_guard_drop(guard), 0);
  guard = NULL;
  cflame_stats(&after);

  /* What the scripts did, summed, is what the library counted. */
  unsigned long long stale = 0, ooo = 0, open_exit = 0;
  for (unsigned i = 0; i < nlives; i++) {
    if (lives[i].zero_tokens || lives[i].name_failed)
      fail_msg("thread t-%u: %llu spans not entered, name failed %d "
               "(seed %#llx)",
               i, lives[i].zero_tokens, lives[i].name_failed,
               (unsigned long long)seed);
    stale += lives[i].stale;
    ooo += lives[i].out_of_order;
    open_exit += lives[i].open_at_exit;
  }
  if (after.errors[CFLAME_FAULT_STALE_EXIT] - before.errors[CFLAME_FAULT_STALE_EXIT]
          != stale ||
      after.errors[CFLAME_FAULT_OUT_OF_ORDER] -
              before.errors[CFLAME_FAULT_OUT_OF_ORDER] != ooo ||
      after.spans_closed_at_exit - before.spans_closed_at_exit != open_exit)
    fail_msg("stats: stale %llu/%llu out-of-order %llu/%llu closed at exit "
             "%llu/%llu (counted/expected, seed %#llx)",
             (unsigned long long)(after.errors[CFLAME_FAULT_STALE_EXIT] -
                                  before.errors[CFLAME_FAULT_STALE_EXIT]),
             stale,
             (unsigned long long)(after.errors[CFLAME_FAULT_OUT_OF_ORDER] -
                                  before.errors[CFLAME_FAULT_OUT_OF_ORDER]),
             ooo,
             (unsigned long long)(after.spans_closed_at_exit -
                                  before.spans_closed_at_exit),
             open_exit, (unsigned long long)seed);

  /* The whole output obeys FORMAT.md; batches are not sorted across. */
  folded_check_error_t e;
  size_t lines = 0;
  if (folded_check(out.buf, out.len, 0, &e, &lines, NULL) != 0)
    fail_msg("mode %d seed %#llx: rule %d line %zu: %s", mode,
             (unsigned long long)seed, e.rule, e.line, e.msg);
  assert_true(out.len > 0);
  if (out.buf[out.len - 1] != '\n')
    fail_msg("last line not terminated (seed %#llx)",
             (unsigned long long)seed);
  /* Aggregate: each flush's batch is merged and sorted on its own. */
  for (size_t i = 0, from = 0; !stream && i < nmarks; from = marks[i++]) {
    if (folded_check(out.buf + from, marks[i] - from, FOLDED_CHECK_SORTED, &e,
                     NULL, NULL) != 0)
      fail_msg("batch %zu of %zu (bytes %zu..%zu), seed %#llx: rule %d line "
               "%zu: %s",
               i, nmarks, from, marks[i], (unsigned long long)seed, e.rule,
               e.line, e.msg);
  }
  /* Every line whole and well-formed, every thread's time all there. */
  size_t lineno = 0;
  for (const char *p = out.buf, *end = out.buf + out.len; p < end;) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    char why[64];
    lineno++;
    if (!nl || take_line(p, (size_t)(nl - p), nlives, sums, why,
                         sizeof why) != 0)
      fail_msg("mode %d seed %#llx line %zu: %s: %.*s", mode,
               (unsigned long long)seed, lineno, nl ? why : "torn",
               (int)((nl ? nl : end) - p > 200 ? 200 : (nl ? nl : end) - p),
               p);
    p = nl + 1;
  }
  assert_int_equal(lineno, lines);
  for (unsigned i = 0; i < nlives; i++)
    if (sums[i] != lives[i].expected)
      fail_msg("mode %d seed %#llx: thread t-%u wrote %llu ns, expected "
               "%llu (thread seed %#llx)",
               mode, (unsigned long long)seed, i, sums[i],
               (unsigned long long)lives[i].expected,
               (unsigned long long)lives[i].seed);
  free(lives);
  free(sums);
  free(marks);
  marks = NULL;
  nmarks = capmarks = 0;
}

static void test_stress_threads_random_scripts_aggregate(void **state) {
  (void)state;
  run_stress(CFLAME_FLAME_AGGREGATE);
}

static void test_stress_threads_random_scripts_stream(void **state) {
  (void)state;
  run_stress(CFLAME_FLAME_STREAM);
}

/* --- sessions come and go under recording threads ---------------------- */

#define CHURN_THREADS 4
#define CHURN_CYCLES 300

static unsigned long churn_ops; /* spans entered or ended by churners */

/* Records forever (until told to stop) with open spans kept across
 * sessions, so tokens of a dropped session get ENDed in the next one. */
static void *churner(void *arg) {
  unsigned n = (unsigned)(uintptr_t)arg;
  uint64_t rs = n * UINT64_C(7919);
  cflame_token_t open[3];
  unsigned depth = 0;
  char name[16];
  snprintf(name, sizeof name, "c-%u", n);
  (void)cflame_thread_name(name);
  for (unsigned i = 0; !__atomic_load_n(&churn_stop, __ATOMIC_ACQUIRE); i++) {
    uint64_t r = next_rand(&rs);
    __atomic_fetch_add(&churn_ops, 1, __ATOMIC_RELAXED);
    if (i % 64 == 0)
      sched_yield(); /* let the main thread at the CPU and the sink lock */
    tclock_ns += r % 7;
    /* Shallow: at most 8 + 64 + 512 stacks, so a flush stays cheap however
     * long a session lasts. */
    if (depth < 3 && (depth == 0 || r % 3 != 0))
      open[depth++] = enter_site((unsigned)(r >> 8));
    else
      CFLAME_SPAN_END(open[--depth]);
  }
  return NULL;
}

static void test_stress_sessions_churn_while_recording(void **state) {
  (void)state;
  const int cycles = (int)(CHURN_CYCLES * stress_scale()) + 1;
  int caught = 0;
  pthread_t th[CHURN_THREADS];
  __atomic_store_n(&churn_stop, 0, __ATOMIC_RELEASE);
  for (unsigned i = 0; i < CHURN_THREADS; i++)
    assert_int_equal(
        pthread_create(&th[i], NULL, churner, (void *)(uintptr_t)i), 0);
  for (int c = 0; c < cycles; c++) {
    cflame_flame_opts_t o = cflame_flame_opts_default();
    o.mode = c % 4 == 3 ? CFLAME_FLAME_STREAM : CFLAME_FLAME_AGGREGATE;
    o.stream_records = 64;
    memout_free(&out);
    assert_int_equal(cflame_flame_writer(memout_write, &out, &o, &guard), 0);
    /* Long enough for the churners to join the session, measured in their
     * progress rather than in time (a loaded CI box is slow to wake up). */
    unsigned long at = __atomic_load_n(&churn_ops, __ATOMIC_RELAXED);
    for (int k = 0; k < 100000 && __atomic_load_n(&churn_ops,
                                                  __ATOMIC_RELAXED) -
                                          at < 64 * CHURN_THREADS;
         k++)
      sched_yield();
    for (int f = 0; f < c % 3; f++)
      assert_int_equal(cflame_guard_flush(guard), 0);
    assert_int_equal(cflame_guard_drop(guard), 0);
    guard = NULL;
    caught += out.len > 0;
    /* Whatever each short session caught is well-formed, whole lines. */
    folded_check_error_t e;
    if (folded_check(out.buf, out.len, 0, &e, NULL, NULL) != 0)
      fail_msg("cycle %d: rule %d line %zu: %s", c, e.rule, e.line, e.msg);
    for (const char *p = memout_str(&out); *p; p = strchr(p, '\n') + 1)
      if (strncmp(p, "c-", 2) != 0)
        fail_msg("cycle %d: line from an unknown thread: %.80s", c, p);
  }
  __atomic_store_n(&churn_stop, 1, __ATOMIC_RELEASE);
  for (unsigned i = 0; i < CHURN_THREADS; i++)
    assert_int_equal(pthread_join(th[i], NULL), 0);
  assert_true(caught > 0); /* the churners did record in some sessions */
}

/* --- (b) a writer that blocks --------------------------------------------- */

#define PAIRS 200000

/* 0: no call yet, 1: inside the first call, 2: that call returned. */
static int in_write;
static int spans_done;
static int done_seen_inside; /* spans were all done while the writer slept */
static int left_during_spans; /* the span thread saw the writer still in */

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

/* A writer that takes 100 ms per call. The first call also waits (up to
 * 60 s) for the span thread: if recording waited for the writer, that
 * thread cannot finish, the wait times out and the test fails instead of
 * hanging. */
static long slow_write(void *ctx, const void *buf, size_t len) {
  int first = __atomic_load_n(&in_write, __ATOMIC_ACQUIRE) == 0;
  if (first)
    __atomic_store_n(&in_write, 1, __ATOMIC_RELEASE);
  sleep_ms(100);
  if (first) {
    for (int i = 0; i < 6000 && !__atomic_load_n(&spans_done,
                                                 __ATOMIC_ACQUIRE);
         i++)
      sleep_ms(10);
    done_seen_inside = __atomic_load_n(&spans_done, __ATOMIC_ACQUIRE);
    __atomic_store_n(&in_write, 2, __ATOMIC_RELEASE);
  }
  return memout_write(ctx, buf, len);
}

static int slow_flush_rc = 1;

static void *slow_flusher(void *arg) {
  (void)arg;
  slow_flush_rc = cflame_guard_flush(guard);
  return NULL;
}

static void *span_pairs(void *arg) {
  (void)arg;
  while (__atomic_load_n(&in_write, __ATOMIC_ACQUIRE) == 0)
    sleep_ms(1);
  /* Everything a new thread does first happens inside the writer's call:
   * naming, state creation, callsite registration. */
  (void)cflame_thread_name("pairs");
  tclock_ns = 0;
  for (int i = 0; i < PAIRS; i++) {
    CFLAME_SPAN(t, "pair");
    tclock_ns += 1;
    CFLAME_SPAN_END(t);
  }
  left_during_spans = __atomic_load_n(&in_write, __ATOMIC_ACQUIRE) != 1;
  __atomic_store_n(&spans_done, 1, __ATOMIC_RELEASE);
  return NULL;
}

static void test_stress_blocked_writer_never_blocks_spans(void **state) {
  (void)state;
  in_write = spans_done = done_seen_inside = left_during_spans = 0;
  assert_int_equal(cflame_flame_writer(slow_write, &out, NULL, &guard), 0);
  { /* something for the first flush to write */
    CFLAME_SPAN(t, "first");
    tclock_ns += 3;
    CFLAME_SPAN_END(t);
  }
  pthread_t f, s;
  assert_int_equal(pthread_create(&s, NULL, span_pairs, NULL), 0);
  assert_int_equal(pthread_create(&f, NULL, slow_flusher, NULL), 0);
  assert_int_equal(pthread_join(s, NULL), 0);
  assert_int_equal(pthread_join(f, NULL), 0);
  assert_int_equal(slow_flush_rc, 0);
  assert_true(done_seen_inside);
  assert_false(left_during_spans);
  assert_int_equal(cflame_guard_drop(guard), 0);
  guard = NULL;
  folded_check_error_t e;
  if (folded_check(out.buf, out.len, 0, &e, NULL, NULL) != 0)
    fail_msg("rule %d line %zu: %s", e.rule, e.line, e.msg);
  /* The first batch, then the pairs, all of them. */
  assert_string_equal(memout_str(&out), "main;test_stress::first 3\n"
                                        "pairs;test_stress::pair 200000\n");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(
          test_stress_threads_random_scripts_aggregate, setup, teardown),
      cmocka_unit_test_setup_teardown(
          test_stress_threads_random_scripts_stream, setup, teardown),
      cmocka_unit_test_setup_teardown(
          test_stress_sessions_churn_while_recording, setup, teardown),
      cmocka_unit_test_setup_teardown(
          test_stress_blocked_writer_never_blocks_spans, setup, teardown),
  };
  return cmocka_run_group_tests_name("stress", tests, NULL, NULL);
}
