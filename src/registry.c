/* The registry: callsites interned once, error counters and reporting. */
#include "internal.h"
#include "sanitize.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- callsites --------------------------------------------------------- */

/* Sites live in chunks of doubling size that never move: the flusher reads
 * them by id without the registry lock. Id 0 is reserved for the root. */
#define SITE_CHUNK0 64u
#define SITE_CHUNKS 26
static cflame__site_t *site_chunks[SITE_CHUNKS];
static uint32_t site_count = 1;
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;

static cflame__site_t *site_slot(uint32_t id) {
  uint32_t p = id + SITE_CHUNK0;
  int k = 31 - __builtin_clz(p) - 6;
  return &site_chunks[k][p - (SITE_CHUNK0 << k)];
}

cflame__site_t *cflame__registry_site(uint32_t id) {
  if (id == 0 || id >= ld_acquire(&site_count))
    return NULL;
  return site_slot(id);
}

static char *sanitized_copy(const char *in, size_t len, int *repaired) {
  char buf[CFLAME__NAME_MAX + 1];
  unsigned report = 0;
  size_t n = cflame__sanitize(buf, sizeof buf, in, len, 0, &report);
  if (report)
    *repaired = 1;
  char *out = malloc(n + 1);
  if (out)
    memcpy(out, buf, n + 1);
  return out;
}

static const char *basename_of(const char *path) {
  const char *b = path;
  for (const char *p = path; *p; p++)
    if (*p == '/' || *p == '\\')
      b = p + 1;
  return b;
}

uint32_t cflame__registry_register(cflame_callsite_t *cs) {
  uint32_t id = ld_acquire(&cs->id_);
  if (id)
    return id;
  pthread_mutex_lock(&registry_lock);
  id = ld_acquire(&cs->id_);
  if (id)
    goto out;
  id = site_count;
  uint32_t p = id + SITE_CHUNK0;
  int k = 31 - __builtin_clz(p) - 6;
  if (k >= SITE_CHUNKS) {
    id = 0;
    goto out;
  }
  if (!site_chunks[k]) {
    site_chunks[k] = calloc((size_t)SITE_CHUNK0 << k, sizeof(cflame__site_t));
    if (!site_chunks[k]) {
      id = 0;
      goto out;
    }
  }
  cflame__site_t *s = site_slot(id);
  const char *file = cs->file ? cs->file : "";
  const char *base = basename_of(file);
  int repaired = 0;
  const char *name = cs->name;
  s->name = sanitized_copy(name, name ? strnlen(name, CFLAME__NAME_MAX * 4) : 0,
                           &repaired);
  if (cs->target) {
    s->target = sanitized_copy(cs->target,
                               strnlen(cs->target, CFLAME__NAME_MAX * 4),
                               &repaired);
  } else {
    /* The stem of the file: src/net/parser.c -> parser. */
    const char *dot = strrchr(base, '.');
    size_t n = dot && dot != base ? (size_t)(dot - base) : strlen(base);
    s->target = n ? sanitized_copy(base, n, &repaired) : calloc(1, 1);
  }
  s->file = sanitized_copy(base, strnlen(base, CFLAME__NAME_MAX * 4),
                           &repaired);
  s->line = cs->line;
  if (!s->name || !s->target || !s->file) {
    free(s->name);
    free(s->target);
    free(s->file);
    memset(s, 0, sizeof *s);
    id = 0;
    goto out;
  }
  /* "[unknown]" as a target says nothing: drop the module path instead. */
  if (!cs->target && strcmp(s->target, "[unknown]") == 0)
    s->target[0] = '\0';
  st_release(&site_count, id + 1);
  st_release(&cs->id_, id);
  if (repaired)
    cflame__report(CFLAME_ERR_NAME, "span name \"%s\" at %s:%d was repaired",
                   s->name, s->file, s->line);
out:
  pthread_mutex_unlock(&registry_lock);
  return id;
}

/* --- errors and counters ------------------------------------------------ */

cflame__counters_t cflame__counters;
static cflame_error_fn error_fn;
static void *error_ctx;
static pthread_mutex_t error_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned reported; /* bit per kind: already reported this session */

static void default_error(void *ctx, cflame_error_kind_t kind,
                          const char *msg) {
  (void)ctx;
  (void)kind;
  fprintf(stderr, "cflame: %s (further ones only counted)\n", msg);
}

void cflame__report(cflame_error_kind_t kind, const char *fmt, ...) {
  fetch_add(&cflame__counters.errors[kind], 1);
  unsigned bit = 1u << kind;
  if (__atomic_fetch_or(&reported, bit, __ATOMIC_RELAXED) & bit)
    return;
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  pthread_mutex_lock(&error_lock);
  cflame_error_fn fn = error_fn ? error_fn : default_error;
  void *ctx = error_ctx;
  pthread_mutex_unlock(&error_lock);
  fn(ctx, kind, msg);
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
  for (int i = 0; i < CFLAME_ERR_KIND_COUNT_; i++)
    out->errors[i] = ld_relaxed(&c->errors[i]);
  out->threads = ld_relaxed(&c->threads);
  out->spans_closed_at_exit = ld_relaxed(&c->spans_closed_at_exit);
  out->lines_written = ld_relaxed(&c->lines_written);
  out->bytes_written = ld_relaxed(&c->bytes_written);
  out->bytes_lost = ld_relaxed(&c->bytes_lost);
  out->last_errno = ld_relaxed(&c->last_errno);
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
