/* Fault counters, the error callback, return-code texts and the version. */
#include "report.h"

#include <stdarg.h>
#include <stdio.h>
#include <pthread.h>

cflame__counters_t cflame__counters;
static cflame_error_fn error_fn;
static void *error_ctx;
static pthread_mutex_t error_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned reported; /* bit per kind: already reported this session */

static void default_error(void *ctx, cflame_fault_t kind, const char *msg) {
  (void)ctx;
  (void)kind;
  fprintf(stderr, "cflame: %s (further ones only counted)\n", msg);
}

static void vreport(cflame_fault_t kind, const char *fmt, va_list ap) {
  unsigned bit = 1u << kind;
  if (__atomic_fetch_or(&reported, bit, __ATOMIC_RELAXED) & bit)
    return;
  char msg[512];
  vsnprintf(msg, sizeof msg, fmt, ap);
  pthread_mutex_lock(&error_lock);
  cflame_error_fn fn = error_fn ? error_fn : default_error;
  void *ctx = error_ctx;
  pthread_mutex_unlock(&error_lock);
  fn(ctx, kind, msg);
}

void cflame__report(cflame_fault_t kind, const char *fmt, ...) {
  fetch_add(&cflame__counters.faults[kind], 1);
  va_list ap;
  va_start(ap, fmt);
  vreport(kind, fmt, ap);
  va_end(ap);
}

void cflame__report_counted(cflame_fault_t kind, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vreport(kind, fmt, ap);
  va_end(ap);
}

/* The error lock is the innermost lock: held across fork like the others,
 * so a child never finds it taken by a thread that no longer exists. */
void cflame__report_lock_for_fork(void) {
  pthread_mutex_lock(&error_lock);
}

void cflame__report_unlock_after_fork(void) {
  pthread_mutex_unlock(&error_lock);
}

void cflame__report_reset(void) {
  st_relaxed(&reported, 0u);
}

void cflame_on_error(cflame_error_fn fn, void *ctx) {
  pthread_mutex_lock(&error_lock);
  error_fn = fn;
  error_ctx = ctx;
  pthread_mutex_unlock(&error_lock);
}

void cflame_stats(cflame_stats_t *out) {
  if (!out)
    return;
  cflame__counters_t *c = &cflame__counters;
  memset(out, 0, sizeof *out);
  for (int i = 0; i < CFLAME_FAULT_KIND_COUNT_; i++)
    out->faults[i] = ld_relaxed(&c->faults[i]);
  out->threads = ld_relaxed(&c->threads);
  out->spans_closed_at_exit = ld_relaxed(&c->spans_closed_at_exit);
  out->lines_written = ld_relaxed(&c->lines_written);
  out->bytes_written = ld_relaxed(&c->bytes_written);
  out->bytes_lost = ld_relaxed(&c->bytes_lost);
  out->events = ld_relaxed(&c->events);
  out->frame_marks = ld_relaxed(&c->frame_marks);
  out->spans_live = ld_relaxed(&c->spans_live);
  out->last_errno = ld_relaxed(&c->last_errno);
  out->slow_enters = ld_relaxed(&c->slow_enters);
}

const char *cflame_strerror(int rc) {
  switch (rc) {
  case 0:
    return "success";
#define CFLAME__ERR_TEXT(name, value, text)                                    \
  case CFLAME_##name:                                                          \
    return text;
    CFLAME_ERRNO_MAP(CFLAME__ERR_TEXT)
#undef CFLAME__ERR_TEXT
  default:
    return "unknown error";
  }
}

#define STR_(x) #x
#define STR(x) STR_(x)
const char *cflame_version(void) {
  return STR(CFLAME_VERSION_MAJOR) "." STR(CFLAME_VERSION_MINOR) "." STR(
      CFLAME_VERSION_PATCH);
}

uint64_t cflame__hash(const char *p, size_t n, uint64_t seed) {
  uint64_t h = 1469598103934665603u ^ seed; /* FNV-1a */
  for (size_t i = 0; i < n; i++)
    h = (h ^ (unsigned char)p[i]) * 1099511628211u;
  return h ^ (h >> 29);
}
