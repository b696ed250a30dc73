/* The registry: callsites interned once, error counters and reporting. */
#include "internal.h"
#include "sanitize.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- callsites --------------------------------------------------------- */

/* Sites live in chunks of doubling size that never move: the flusher reads
 * them by id without the registry lock. Id 0 is reserved for the root. */
static cflame__site_t *site_chunks[CFLAME__CHUNKS];
static uint32_t site_count = 1;
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t env_once = PTHREAD_ONCE_INIT;

void cflame__registry_lock(void) {
  pthread_once(&env_once, cflame__filter_env);
  pthread_mutex_lock(&registry_lock);
}

void cflame__registry_unlock(void) {
  pthread_mutex_unlock(&registry_lock);
}

static cflame__site_t *site_slot(uint32_t id) {
  int k = cflame__chunk_of(id);
  return &site_chunks[k][cflame__chunk_off(id, k)];
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

/* The next free slot (registry lock held), or NULL. */
static cflame__site_t *site_next(void) {
  int k = cflame__chunk_of(site_count);
  if (k >= CFLAME__CHUNKS)
    return NULL;
  if (!site_chunks[k]) {
    site_chunks[k] =
        calloc((size_t)CFLAME__CHUNK0 << k, sizeof(cflame__site_t));
    if (!site_chunks[k])
      return NULL;
  }
  return site_slot(site_count);
}

static uint32_t interest_of(const cflame__site_t *s) {
  return cflame__filter_enabled(s->target, s->level) ? 2u : 1u;
}

uint32_t cflame__registry_register(cflame_callsite_t *cs) {
  uint32_t id = ld_acquire(&cs->id_);
  if (id)
    return id;
  cflame__registry_lock();
  id = ld_acquire(&cs->id_);
  if (id)
    goto out;
  id = site_count;
  cflame__site_t *s = site_next();
  if (!s) {
    id = 0;
    goto out;
  }
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
  s->level = cs->level;
  s->cs = cs;
  s->base = id;
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
  st_relaxed(&cs->interest_, interest_of(s));
  st_release(&cs->id_, id);
  if (repaired)
    cflame__report(CFLAME_ERR_NAME, "span name \"%s\" at %s:%d was repaired",
                   s->name, s->file, s->line);
out:
  cflame__registry_unlock();
  return id;
}

uint32_t cflame_callsite_register(cflame_callsite_t *cs) {
  if (!cs || !cflame__registry_register(cs))
    return 0;
  return ld_relaxed(&cs->interest_);
}

void cflame__registry_refilter(void) {
  for (uint32_t id = 1; id < site_count; id++) {
    cflame__site_t *s = site_slot(id);
    if (s->cs)
      st_relaxed(&((cflame_callsite_t *)s->cs)->interest_, interest_of(s));
  }
}

/* --- field variants ------------------------------------------------------ */

/* Distinct field values could grow without bound (request ids...): past
 * this many variants, spans fall back to their plain frame. */
#define VARIANTS_MAX 65536u
static uint32_t *vtab; /* open addressing over variant ids, 0 = empty */
static size_t vcap, vcount;

uint64_t cflame__hash(const char *p, size_t n, uint64_t seed) {
  uint64_t h = 1469598103934665603u ^ seed; /* FNV-1a */
  for (size_t i = 0; i < n; i++)
    h = (h ^ (unsigned char)p[i]) * 1099511628211u;
  return h ^ (h >> 29);
}

static int variant_is(const cflame__site_t *s, uint32_t base,
                      const char *fields, size_t len) {
  return s->base == base && s->fields_len == len &&
         memcmp(s->fields, fields, len) == 0;
}

static int vtab_grow(void) {
  size_t cap = vcap ? vcap * 2 : 1024;
  uint32_t *t = calloc(cap, sizeof *t);
  if (!t)
    return -1;
  for (size_t i = 0; i < vcap; i++) {
    if (!vtab[i])
      continue;
    cflame__site_t *s = site_slot(vtab[i]);
    size_t j = cflame__hash(s->fields, s->fields_len, s->base) & (cap - 1);
    while (t[j])
      j = (j + 1) & (cap - 1);
    t[j] = vtab[i];
  }
  free(vtab);
  vtab = t;
  vcap = cap;
  return 0;
}

uint32_t cflame__registry_variant(uint32_t base, const char *fields,
                                  size_t len, uint64_t hash) {
  uint32_t id = base;
  cflame__registry_lock();
  if (vcount * 2 >= vcap && vtab_grow() != 0)
    goto out;
  size_t j = hash & (vcap - 1);
  for (; vtab[j]; j = (j + 1) & (vcap - 1))
    if (variant_is(site_slot(vtab[j]), base, fields, len)) {
      id = vtab[j];
      goto out;
    }
  if (vcount >= VARIANTS_MAX) {
    cflame__report(CFLAME_ERR_DROPPED,
                   "more than %u distinct span field sets; further ones "
                   "use the plain span frame",
                   VARIANTS_MAX);
    goto out;
  }
  cflame__site_t *b = site_slot(base);
  cflame__site_t *s = site_next();
  char *copy = s ? malloc(len + 1) : NULL;
  if (!copy)
    goto out;
  memcpy(copy, fields, len);
  copy[len] = '\0';
  /* A variant shares its base's strings, which are never freed. */
  s->name = b->name;
  s->target = b->target;
  s->file = b->file;
  s->line = b->line;
  s->level = b->level;
  s->base = base;
  s->fields = copy;
  s->fields_len = len;
  id = site_count;
  vtab[j] = id;
  vcount++;
  st_release(&site_count, id + 1);
out:
  cflame__registry_unlock();
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

static void vreport(cflame_error_kind_t kind, const char *fmt, va_list ap) {
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

void cflame__report(cflame_error_kind_t kind, const char *fmt, ...) {
  fetch_add(&cflame__counters.errors[kind], 1);
  va_list ap;
  va_start(ap, fmt);
  vreport(kind, fmt, ap);
  va_end(ap);
}

void cflame__report_counted(cflame_error_kind_t kind, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vreport(kind, fmt, ap);
  va_end(ap);
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
  out->events = ld_relaxed(&c->events);
  out->frame_marks = ld_relaxed(&c->frame_marks);
  out->spans_live = ld_relaxed(&c->spans_live);
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
