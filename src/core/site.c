/* Sites as sinks read them: their names (an instrumented function's is
 * made when first read, not at the function's first call) and
 * cflame_site_info. */
#include "core.h"
#include "sanitize.h"

#include <stdlib.h>
#include <string.h>

/* What a site that could not be named yet (out of memory) reads as. */
static const char unnamed[] = "[unknown]";

const char *cflame__site_name(cflame__site_t *s) {
  char *name = ld_acquire(&s->name);
  if (name)
    return name;
  if (s->fields) {
    /* A variant of an instrumented function's site: its base's name. */
    const char *b = cflame__site_name(cflame__registry_site(s->base));
    char *none = NULL;
    if (b != unnamed)
      __atomic_compare_exchange_n(&s->name, &none, (char *)b, 0,
                                  __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
    return b;
  }
  if (!s->raw)
    return unnamed;
  int repaired = 0;
  name = cflame__sanitized_str(s->raw, &repaired);
  if (!name)
    return unnamed;
  /* Two readers may name it at once: the first one's copy is kept. */
  char *none = NULL;
  if (!__atomic_compare_exchange_n(&s->name, &none, name, 0, __ATOMIC_ACQ_REL,
                                   __ATOMIC_ACQUIRE)) {
    free(name);
    return none;
  }
  if (repaired)
    cflame__report(CFLAME_FAULT_NAME,
                   "span name \"%.200s\" in %s was repaired", name, s->file);
  return name;
}

int cflame_site_info(uint32_t site, cflame_site_info_t *out) {
  cflame__site_t *s = cflame__registry_site(site);
  if (!out)
    return -1;
  memset(out, 0, sizeof *out);
  if (!s || site == CFLAME_SITE_TRUNCATED)
    return -1;
  out->name = cflame__site_name(s);
  out->target = s->target;
  out->file = s->file;
  out->function = s->function;
  out->line = s->line;
  out->level = s->level;
  out->fields = s->fields;
  out->fields_len = s->fields_len;
  out->base = s->base;
  return 0;
}
