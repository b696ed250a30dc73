/* The registry: callsites interned once (with their sanitized texts), field
 * variants, run-time-named callsites, and the filter's cached verdicts. */
#include "core.h"
#include "platform.h"
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

static void registry_lock_(void) {
  pthread_once(&env_once, cflame__filter_env);
  pthread_mutex_lock(&registry_lock);
}

static void registry_unlock(void) {
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

char *cflame__sanitized_copy(const char *in, size_t len, int *repaired) {
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

char *cflame__sanitized_str(const char *s, int *repaired) {
  return cflame__sanitized_copy(s, s ? strnlen(s, CFLAME__NAME_MAX * 4) : 0,
                                repaired);
}

static const char *basename_of(const char *path) {
  const char *b = path;
  for (const char *p = path; *p; p++)
    if (*p == '/' || *p == '\\')
      b = p + 1;
  return b;
}

static char *dup_bounded(const char *s);
/* The file of run-time-named callsites: they are the registry's own. */
static const char dyn_file[] = "";

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

/* On only while some sink records: a program with cflame compiled in and
 * never turned on pays what a filtered-out span does. */
static uint32_t interest_of(const cflame__site_t *s) {
  return ld_relaxed(&cflame__live) &&
                 cflame__filter_enabled(s->target, s->level)
             ? CFLAME_INTEREST_ON
             : CFLAME_INTEREST_OFF;
}

static int forget_unloaded(void);

/* Rewrites every callsite's interest, except those whose code was
 * unloaded (a dlclose'd plugin's): their memory is gone. */
static void refilter(void) {
  int unsure = forget_unloaded() != 0;
  for (uint32_t id = 1; id < site_count; id++) {
    cflame__site_t *s = site_slot(id);
    uint32_t *p = s->cs ? &((cflame_callsite_t *)s->cs)->interest_ : NULL,
             old = CFLAME__INTEREST_DEAD; /* an unloaded function's stays */
    if (p && !s->cs_gone && !(unsure && s->cs_static) &&
        (old = ld_relaxed(p)) != CFLAME__INTEREST_DEAD)
      __atomic_compare_exchange_n(p, &old, interest_of(s), 0,
                                  __ATOMIC_RELAXED, __ATOMIC_RELAXED);
  }
  if (unsure)
    cflame__report(CFLAME_FAULT_DROPPED,
                   "out of memory checking for unloaded code: the new "
                   "filter is not applied to callsites already used");
}

void cflame__registry_refilter(void) {
  registry_lock_();
  refilter();
  registry_unlock();
}

/* Every instrumented function of a module has the module's stem (a string
 * that is never freed, symbols.h) as target and file: runs of them share
 * one sanitized copy (registry lock held). */
static const char *module_in;
static char *module_out;
static int module_repaired;

static char *module_copy(const char *stem, int *repaired) {
  if (stem != module_in || !module_out) {
    int r = 0;
    char *copy = cflame__sanitized_str(stem, &r);
    if (!copy)
      return NULL;
    module_in = stem;
    module_out = copy;
    module_repaired = r;
  }
  *repaired |= module_repaired;
  return module_out;
}

uint32_t cflame__registry_register(cflame_callsite_t *cs) {
  uint32_t id = ld_acquire(&cs->id_);
  if (id)
    return id;
  registry_lock_();
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
  if (CFLAME__CS_FN(cs) && name)
    s->raw = name; /* named when first read: cflame__site_name */
  else
    s->name = cflame__sanitized_str(name, &repaired);
  if (s->raw && cs->target == cs->file) {
    s->target = s->file = module_copy(cs->target, &repaired);
  } else if (cs->target) {
    s->target = cflame__sanitized_str(cs->target, &repaired);
  } else {
    /* The stem of the file: src/net/parser.c -> parser. */
    const char *dot = strrchr(base, '.');
    size_t n = dot && dot != base ? (size_t)(dot - base) : strlen(base);
    s->target = n ? cflame__sanitized_copy(base, n, &repaired) : calloc(1, 1);
  }
  if (!s->file)
    s->file = cflame__sanitized_str(base, &repaired);
  /* Copies: a plugin's strings go with it at dlclose. */
  s->function = cs->function ? dup_bounded(cs->function) : NULL;
  s->line = cs->line;
  s->level = cs->level;
  s->cs = cs;
  s->cs_static = cs->file != dyn_file;
  s->base = id;
  if ((!s->name && !s->raw) || !s->target || !s->file ||
      (cs->function && !s->function)) {
    free((char *)s->function);
    free(s->name);
    if (s->target != module_out)
      free(s->target);
    if (s->file != module_out && s->file != s->target)
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
    cflame__report(CFLAME_FAULT_NAME,
                   "span name \"%.200s\" at %s:%d was repaired",
                   s->name ? s->name : s->raw, s->file, s->line);
out:
  registry_unlock();
  return id;
}

uint32_t cflame_callsite_register(cflame_callsite_t *cs) {
  if (!cs || !cflame__registry_register(cs))
    return 0;
  return ld_relaxed(&cs->interest_);
}

/* After a dlclose, marks the callsites whose object is gone (registry lock
 * held): the address no longer lies in a loaded object's data, or it does
 * but holds another id (the object was loaded again, or another one took
 * its place). Returns -1 if that could not be checked (out of memory). */
static uint64_t unloads_seen;

static int in_ranges(const cflame__plat_range_t *r, size_t n, uintptr_t a) {
  for (size_t i = 0; i < n; i++)
    if (a >= r[i].lo && a + sizeof(cflame_callsite_t) <= r[i].hi)
      return 1;
  return 0;
}

static int forget_unloaded(void) {
  uint64_t unloads = cflame__plat_unloads();
  if (unloads == unloads_seen)
    return 0;
  cflame__plat_range_t small[64], *r = small;
  size_t n = cflame__plat_writable_ranges(small, 64);
  if (n > 64) {
    r = malloc((n + 16) * sizeof *r);
    if (!r)
      return -1;
    size_t m = cflame__plat_writable_ranges(r, n + 16);
    n = m < n + 16 ? m : n + 16;
  }
  for (uint32_t id = 1; id < site_count; id++) {
    cflame__site_t *s = site_slot(id);
    if (!s->cs || !s->cs_static || s->cs_gone)
      continue;
    if (!in_ranges(r, n, (uintptr_t)s->cs) ||
        ld_relaxed(&((cflame_callsite_t *)s->cs)->id_) != id)
      s->cs_gone = 1;
  }
  if (r != small)
    free(r);
  unloads_seen = unloads;
  return 0;
}

int cflame_filter_set(const char *directives) {
  registry_lock_();
  int rc = cflame__filter_parse(directives, 1);
  refilter();
  registry_unlock();
  return rc;
}

/* --- field variants ------------------------------------------------------ */

/* Distinct field values could grow without bound (request ids...): past
 * this many variants, spans fall back to their plain frame. */
#define VARIANTS_MAX 65536u
static uint32_t *vtab; /* open addressing over variant ids, 0 = empty */
static size_t vcap, vcount;


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
  registry_lock_();
  if (vcount * 2 >= vcap && vtab_grow() != 0)
    goto out;
  size_t j = hash & (vcap - 1);
  for (; vtab[j]; j = (j + 1) & (vcap - 1))
    if (variant_is(site_slot(vtab[j]), base, fields, len)) {
      id = vtab[j];
      goto out;
    }
  if (vcount >= VARIANTS_MAX) {
    cflame__report(CFLAME_FAULT_DROPPED,
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
  /* A variant shares its base's strings, which are never freed (a base
   * not named yet names the variant when first read). */
  s->name = ld_acquire(&b->name);
  s->target = b->target;
  s->file = b->file;
  s->function = b->function;
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
  registry_unlock();
  return id;
}

/* --- run-time names ------------------------------------------------------ */

/* Callsites for names only known at run time, owned here and never freed:
 * one per distinct (name, target, level), looked up by hash. */
#define DYNAMIC_MAX 65536u
typedef struct dyn_s {
  uint64_t hash;
  cflame_callsite_t *cs;
} dyn_t;
static dyn_t *dtab;
static size_t dcap, dcount;
static cflame_callsite_t dyn_overflow = {"[dynamic]", NULL, dyn_file, 0,
                                         CFLAME_LEVEL_INFO, NULL, 0,
                                         CFLAME_INTEREST_UNKNOWN, {0, 0}};

static int same_str(const char *a, const char *b) {
  return a == b || (a && b && strcmp(a, b) == 0);
}

static uint64_t dyn_hash(const char *name, const char *target, int level) {
  uint64_t h = cflame__hash(name, strlen(name), (uint64_t)level);
  return target ? cflame__hash(target, strlen(target), h) : h;
}

static int dtab_grow(void) {
  size_t cap = dcap ? dcap * 2 : 256;
  dyn_t *t = calloc(cap, sizeof *t);
  if (!t)
    return -1;
  for (size_t i = 0; i < dcap; i++) {
    if (!dtab[i].cs)
      continue;
    size_t j = dtab[i].hash & (cap - 1);
    while (t[j].cs)
      j = (j + 1) & (cap - 1);
    t[j] = dtab[i];
  }
  free(dtab);
  dtab = t;
  dcap = cap;
  return 0;
}

static char *dup_bounded(const char *s) {
  size_t n = strnlen(s, CFLAME__NAME_MAX);
  char *p = malloc(n + 1);
  if (p) {
    memcpy(p, s, n);
    p[n] = '\0';
  }
  return p;
}

cflame_callsite_t *cflame__registry_dynamic(const char *name,
                                            const char *target, int level) {
  if (!name)
    name = "";
  uint64_t h = dyn_hash(name, target, level);
  cflame_callsite_t *cs = NULL;
  registry_lock_();
  if (dcount * 2 >= dcap && dtab_grow() != 0)
    goto out;
  size_t j = h & (dcap - 1);
  for (; dtab[j].cs; j = (j + 1) & (dcap - 1))
    if (dtab[j].hash == h && dtab[j].cs->level == level &&
        same_str(dtab[j].cs->name, name) && same_str(dtab[j].cs->target, target)) {
      cs = dtab[j].cs;
      goto out;
    }
  if (dcount >= DYNAMIC_MAX) {
    cs = &dyn_overflow;
    goto out;
  }
  cflame_callsite_t *n = calloc(1, sizeof *n);
  char *nm = n ? dup_bounded(name) : NULL;
  char *tg = nm && target ? dup_bounded(target) : NULL;
  if (!nm || (target && !tg)) {
    free(n);
    free(nm);
    goto out;
  }
  n->name = nm;
  n->target = tg;
  n->file = dyn_file;
  n->level = level;
  dtab[j].hash = h;
  dtab[j].cs = n;
  dcount++;
  cs = n;
out:
  registry_unlock();
  if (cs == &dyn_overflow)
    cflame__report(CFLAME_FAULT_DROPPED,
                   "more than %u run-time span names; further ones share "
                   "the [dynamic] frame",
                   DYNAMIC_MAX);
  return cs;
}

/* --- fork ------------------------------------------------------------------ */

void cflame__registry_lock_for_fork(void) {
  registry_lock_();
}

void cflame__registry_unlock_after_fork(void) {
  registry_unlock();
}
