/* Level filters from directives ("info,parser=debug,net::http=trace"):
 * evaluated once per callsite and cached in it, re-evaluated on change. */
#include "core.h"
#include "platform.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define LEVEL_OFF 5

typedef struct directive_s {
  char *target; /* NULL: the default */
  int level;    /* least level enabled; LEVEL_OFF = nothing */
} directive_t;

/* Guarded by the registry lock. `set` = a filter is in force at all. */
static struct {
  int set;
  directive_t *d;
  size_t n;
} filter;

static int parse_level(const char *s, size_t n) {
  static const char *names[] = {"trace", "debug", "info", "warn", "error",
                                "off"};
  for (int i = 0; i <= LEVEL_OFF; i++)
    if (strlen(names[i]) == n && strncasecmp(s, names[i], n) == 0)
      return i;
  return -1;
}

static int target_char_ok(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '_' || c == ':' || c == '-' ||
         c == '.' || c == '/';
}

/* Does `target` fall under directive target `d` ("net" covers "net" and
 * "net::http" but not "network")? */
static size_t covers(const char *d, const char *target) {
  size_t n = strlen(d);
  if (strncmp(d, target, n) != 0)
    return 0;
  if (target[n] == '\0' || (target[n] == ':' && target[n + 1] == ':'))
    return n;
  return 0;
}

int cflame__filter_enabled(const char *target, int level) {
  if (!filter.set)
    return 1;
  int best_level = LEVEL_OFF;
  size_t best_len = 0;
  int matched = 0;
  for (size_t i = 0; i < filter.n; i++) {
    const directive_t *d = &filter.d[i];
    if (!d->target) {
      if (!matched) /* any target directive beats the default */
        best_level = d->level;
      continue;
    }
    size_t len = covers(d->target, target ? target : "");
    if (len && len >= best_len) {
      best_len = len;
      best_level = d->level;
      matched = 1;
    }
  }
  return level >= best_level;
}

static void trim(const char **s, const char **e) {
  while (*s < *e && (**s == ' ' || **s == '\t'))
    (*s)++;
  while (*e > *s && ((*e)[-1] == ' ' || (*e)[-1] == '\t'))
    (*e)--;
}

/* Replaces the filter (registry lock held, or before any callsite).
 * Returns 0, or CFLAME_EINVAL if a directive was skipped. */
int cflame__filter_parse(const char *text, int report) {
  for (size_t i = 0; i < filter.n; i++)
    free(filter.d[i].target);
  free(filter.d);
  memset(&filter, 0, sizeof filter);
  if (!text || !*text)
    return 0;
  filter.set = 1;
  size_t max = 1;
  for (const char *p = text; *p; p++)
    max += *p == ',';
  filter.d = calloc(max, sizeof *filter.d);
  if (!filter.d) {
    filter.set = 0;
    return CFLAME_ENOMEM;
  }
  int rc = 0;
  const char *p = text;
  while (*p) {
    const char *s = p, *e = strchr(p, ',');
    if (!e)
      e = p + strlen(p);
    p = *e ? e + 1 : e;
    const char *full_s = s, *full_e = e;
    trim(&s, &e);
    if (s == e)
      continue; /* "a,,b" */
    const char *eq = memchr(s, '=', (size_t)(e - s));
    const char *ts = s, *te = eq ? eq : e;
    int level = 0; /* a bare target enables everything under it */
    const char *why = NULL;
    if (eq) {
      const char *ls = eq + 1, *le = e;
      trim(&ts, &te);
      trim(&ls, &le);
      level = parse_level(ls, (size_t)(le - ls));
      if (level < 0)
        why = "unknown level (trace, debug, info, warn, error, off)";
      else if (ts == te)
        why = "empty target before '='";
    } else if ((level = parse_level(s, (size_t)(e - s))) >= 0) {
      ts = te = NULL; /* a bare level: the default */
    } else {
      level = 0;
    }
    for (const char *c = ts; !why && c && c < te; c++)
      if (!target_char_ok(*c))
        why = "bad character in target";
    if (why) {
      rc = CFLAME_EINVAL;
      if (report) {
        int n = (int)(full_e - full_s);
        cflame__report(CFLAME_FAULT_CONFIG,
                       "filter directive \"%.*s\": %s; skipped",
                       n > 200 ? 200 : n, full_s, why);
      }
      continue;
    }
    directive_t *d = &filter.d[filter.n];
    d->level = level;
    if (ts) {
      d->target = strndup(ts, (size_t)(te - ts));
      if (!d->target)
        continue;
    }
    filter.n++;
  }
  /* Nothing usable (" ", "debug!"): leave everything on rather than turn
   * every span off because of a typo; the bad parts were reported. */
  if (filter.n == 0)
    filter.set = 0;
  return rc;
}

void cflame__filter_env(void) {
  const char *v = cflame__plat_getenv("CFLAME_FILTER");
  if (v && *v)
    (void)cflame__filter_parse(v, 1);
}

