/* libFuzzer harness for the filter directives of cflame_filter_set().
 *
 * Input: the whole input, cut at its first NUL, is the directive string.
 * It is applied through the public API to a fixed set of callsites, and the
 * internal cflame__filter_enabled() is asked about targets made from the
 * input. Every answer is compared with a model written from the contract
 * in cflame.h (most specific target wins, a bare level is the default, a
 * bare target means trace, no default means off). Where the contract does
 * not decide (two directives for one target, or two bare levels, at
 * different levels) only the properties that hold either way are checked:
 * determinism, monotony in the level, the result range. One directive is
 * never open, so a string without ',' that parses cleanly is checked in
 * full: a bare level L enables exactly the levels >= L everywhere. */
#include <cflame.h>

#include "core.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LEVEL_OFF 5
/* Directive targets the direct queries are built around (the first and
 * the last ones): enough to reach every kind of match, few enough that a
 * 4 KiB string of short directives stays about a millisecond per input. */
#define QUERY_DIRS 4

/* --- callsites ------------------------------------------------------------ */

typedef struct site_s {
  cflame_callsite_t cs;
  /* The target the filter should see. An explicit "" is shown (and
   * filtered) as "[unknown]"; no directive can name either one, since '['
   * is not a target character, so "" models both. */
  const char *target;
} site_t;

#define SITE(tgt, file, lvl, model)                                            \
  { {"span", (tgt), (file), __LINE__, (lvl), NULL, 0, 0, {0, 0}}, (model) }

/* Prefix pairs that must and must not match ("net" covers "net::http" but
 * neither "network" nor "NET"), a deep path, the file stem of a callsite
 * without a target, and unnamed targets, at every level. */
static site_t sites[] = {
    SITE("net", "a.c", CFLAME_LEVEL_INFO, "net"),
    SITE("net::http", "a.c", CFLAME_LEVEL_TRACE, "net::http"),
    SITE("net::http::h2", "a.c", CFLAME_LEVEL_ERROR, "net::http::h2"),
    SITE("network", "a.c", CFLAME_LEVEL_WARN, "network"),
    SITE("NET", "a.c", CFLAME_LEVEL_DEBUG, "NET"),
    SITE("parser", "a.c", CFLAME_LEVEL_DEBUG, "parser"),
    SITE(NULL, "src/net/parser.c", CFLAME_LEVEL_TRACE, "parser"),
    SITE(NULL, "", CFLAME_LEVEL_INFO, ""),
    SITE("", "b.c", CFLAME_LEVEL_ERROR, ""),
    SITE("a::b::c", "a.c", CFLAME_LEVEL_INFO, "a::b::c"),
    SITE("a::b", "a.c", CFLAME_LEVEL_ERROR, "a::b"),
    SITE("a::bc", "a.c", CFLAME_LEVEL_TRACE, "a::bc"),
    SITE("x-y.z/w_0", "a.c", CFLAME_LEVEL_WARN, "x-y.z/w_0"),
    SITE("net:", "a.c", CFLAME_LEVEL_INFO, "net:"),
};
#define NSITES (sizeof sites / sizeof sites[0])

/* --- the model ----------------------------------------------------------- */

/* The model's branches say nothing about the library, and its comparisons
 * with the input would steer the fuzzer: no coverage for it. */
#if defined(__clang__)
#define NO_COVERAGE __attribute__((no_sanitize("coverage")))
#else
#define NO_COVERAGE
#endif

typedef struct dir_s {
  const char *t; /* NULL: a bare level (the default) */
  size_t tn;
  int level;
} dir_t;

typedef struct model_s {
  int set; /* at least one valid directive: a filter is in force */
  int bad; /* some directive must be rejected */
  dir_t *d;
  size_t n;
} model_t;

NO_COVERAGE static int is_blank(char c) {
  return c == ' ' || c == '\t';
}

NO_COVERAGE static int level_of(const char *s, size_t n) {
  static const char *names[] = {"trace", "debug", "info",
                                "warn",  "error", "off"};
  for (int i = 0; i <= LEVEL_OFF; i++) {
    size_t k = strlen(names[i]);
    if (k != n)
      continue;
    size_t j = 0;
    while (j < n && (s[j] | 0x20) == names[i][j])
      j++;
    if (j == n)
      return i;
  }
  return -1;
}

NO_COVERAGE static int target_ok(const char *s, size_t n) {
  if (n == 0)
    return 0;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
          (c >= '0' && c <= '9') || c == '_' || c == ':' || c == '-' ||
          c == '.' || c == '/'))
      return 0;
  }
  return 1;
}

NO_COVERAGE static void trimmed(const char **s, const char **e) {
  while (*s < *e && is_blank(**s))
    (*s)++;
  while (*e > *s && is_blank((*e)[-1]))
    (*e)--;
}

NO_COVERAGE static void model_parse(model_t *m, const char *text) {
  size_t pieces = 1;
  for (const char *p = text; *p; p++)
    pieces += *p == ',';
  memset(m, 0, sizeof *m);
  m->set = text[0] != '\0';
  m->d = calloc(pieces, sizeof *m->d);
  if (!m->d)
    abort();
  const char *p = text;
  for (;;) {
    const char *e = strchr(p, ',');
    const char *next = e ? e + 1 : NULL;
    if (!e)
      e = p + strlen(p);
    const char *s = p;
    trimmed(&s, &e);
    if (s < e) { /* empty pieces ("a,,b", a trailing ',') are no directive */
      const char *eq = memchr(s, '=', (size_t)(e - s));
      dir_t d = {NULL, 0, 0};
      int ok;
      if (eq) {
        const char *ts = s, *te = eq, *ls = eq + 1, *le = e;
        trimmed(&ts, &te);
        trimmed(&ls, &le);
        d.t = ts;
        d.tn = (size_t)(te - ts);
        d.level = level_of(ls, (size_t)(le - ls));
        ok = d.level >= 0 && target_ok(d.t, d.tn);
      } else if ((d.level = level_of(s, (size_t)(e - s))) < 0) {
        d.t = s;
        d.tn = (size_t)(e - s);
        d.level = 0;
        ok = target_ok(d.t, d.tn);
      } else {
        ok = 1;
      }
      if (ok)
        m->d[m->n++] = d;
      else
        m->bad = 1;
    }
    if (!next)
      break;
    p = next;
  }
  /* A string with no valid directive leaves everything enabled. */
  if (m->n == 0)
    m->set = 0;
}

/* Does directive target d name `t` or a path below it? */
NO_COVERAGE static int model_covers(const dir_t *d, const char *t) {
  /* d->t is a slice of the input: compared by length, never read past. */
  if (strncmp(d->t, t, d->tn) != 0)
    return 0;
  return t[d->tn] == '\0' || (t[d->tn] == ':' && t[d->tn + 1] == ':');
}

/* 1 enabled, 0 filtered out, -1 the contract leaves it open. */
NO_COVERAGE static int model_enabled(const model_t *m, const char *target,
                                     int level) {
  if (!m->set)
    return 1;
  const char *t = target ? target : "";
  size_t best = 0;
  int least = -1, open = 0;
  for (size_t i = 0; i < m->n; i++) {
    const dir_t *d = &m->d[i];
    if (!d->t || !model_covers(d, t) || d->tn < best)
      continue;
    if (d->tn > best || least < 0) {
      best = d->tn;
      least = d->level;
      open = 0;
    } else if (d->level != least) {
      open = 1;
    }
  }
  if (least < 0) { /* no target matches: the default, or off */
    least = LEVEL_OFF;
    int seen = 0;
    for (size_t i = 0; i < m->n; i++) {
      if (m->d[i].t)
        continue;
      if (seen && m->d[i].level != least)
        open = 1;
      least = m->d[i].level;
      seen = 1;
    }
  }
  if (open)
    return -1;
  return level >= least;
}

/* --- checks --------------------------------------------------------------- */

static const char *cur_input;

static void fail(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

static void fail(const char *fmt, ...) {
  va_list ap;
  fputs("fuzz_filter: ", stderr);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputs("\n  directives: \"", stderr);
  for (const char *p = cur_input; p && *p; p++) {
    unsigned char c = (unsigned char)*p;
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
      fputc(c, stderr);
    else
      fprintf(stderr, "\\x%02X", c);
  }
  fputs("\"\n", stderr);
  abort();
}

static unsigned config_reports;

static void on_error(void *ctx, cflame_fault_t kind, const char *msg) {
  (void)ctx;
  if ((unsigned)kind >= CFLAME_FAULT_KIND_COUNT_)
    fail("error callback with kind %d", (int)kind);
  /* The library formats into a 512-byte buffer: a longer string means the
   * terminator went missing. */
  if (!msg || strnlen(msg, 4096) >= 512)
    fail("error callback message NULL or unterminated");
  if (kind == CFLAME_FAULT_CONFIG)
    config_reports++;
}

/* Sets the filter with every report enabled again (each kind is reported
 * only once otherwise) and checks what it returns and reports. */
static int set_filter(const char *text, const model_t *m) {
  cflame__report_reset();
  config_reports = 0;
  int rc = cflame_filter_set(text);
  if (rc != 0 && rc != CFLAME_EINVAL)
    fail("cflame_filter_set returned %d", rc);
  if (m && (rc != 0) != m->bad)
    fail("cflame_filter_set returned %d, but the string holds %s bad directive",
         rc, m->bad ? "a" : "no");
  if (config_reports != (rc != 0))
    fail("cflame_filter_set returned %d after %u config reports", rc,
         config_reports);
  return rc;
}

static void check_sites(const model_t *m, uint32_t *got) {
  for (size_t i = 0; i < NSITES; i++) {
    site_t *s = &sites[i];
    uint32_t r = cflame_callsite_register(&s->cs);
    if (r != 1 && r != 2)
      fail("callsite %zu (\"%s\"): interest %u", i, s->target, r);
    if (r != s->cs.interest_)
      fail("callsite %zu: register returned %u, the cache holds %u", i, r,
           s->cs.interest_);
    if (got)
      got[i] = r;
    if (!m)
      continue;
    int want = model_enabled(m, s->target, s->cs.level);
    if (want >= 0 && want != (r == 2))
      fail("callsite %zu (target \"%s\", level %d) is %s, expected %s", i,
           s->target, s->cs.level, r == 2 ? "enabled" : "filtered out",
           want ? "enabled" : "filtered out");
  }
}

/* Asks the filter about `t` at every level (registry lock held). */
static void query(const model_t *m, const char *t) {
  int prev = 0;
  for (int level = CFLAME_LEVEL_TRACE; level <= CFLAME_LEVEL_ERROR; level++) {
    int on = cflame__filter_enabled(t, level) != 0;
    /* A level is a threshold whatever the directives say. */
    if (prev && !on)
      fail("target \"%s\" enabled at level %d but not at %d", t ? t : "(null)",
           level - 1, level);
    prev = on;
    int want = model_enabled(m, t, level);
    if (want >= 0 && want != on)
      fail("cflame__filter_enabled(\"%s\", %d) = %d, expected %d",
           t ? t : "(null)", level, on, want);
  }
}

/* Targets around each directive's own: itself, a path below it, a sibling
 * that shares its prefix, a cut one, one nested under something else. */
static void query_around(const model_t *m, const dir_t *d) {
  size_t n = d->tn;
  char *b = malloc(n + 8);
  if (!b)
    abort();
  memcpy(b, d->t, n);
  b[n] = '\0';
  query(m, b);
  memcpy(b + n, "::x", 4);
  query(m, b);
  memcpy(b + n, "x", 2);
  query(m, b);
  memcpy(b + n, ":", 2);
  query(m, b);
  if (n > 0) {
    b[n - 1] = '\0';
    query(m, b);
  }
  memcpy(b, "x::", 3);
  memcpy(b + 3, d->t, n);
  b[n + 3] = '\0';
  query(m, b);
  free(b);
}

/* `around` 0: only the callsites' targets and the unnamed ones. */
static void query_all(const model_t *m, const char *text, int around) {
  cflame__registry_lock_for_fork();
  query(m, NULL);
  query(m, "");
  for (size_t i = 0; i < NSITES; i++)
    query(m, sites[i].target);
  if (!around) {
    cflame__registry_unlock_after_fork();
    return;
  }
  query(m, text); /* the raw input as a target, bad characters and all */
  /* The first and the last targets: the order could decide ties. */
  size_t k = 0;
  for (size_t i = 0; i < m->n && k < QUERY_DIRS / 2; i++)
    if (m->d[i].t) {
      query_around(m, &m->d[i]);
      k++;
    }
  k = 0;
  for (size_t i = m->n; i-- > 0 && k < QUERY_DIRS / 2;)
    if (m->d[i].t) {
      query_around(m, &m->d[i]);
      k++;
    }
  cflame__registry_unlock_after_fork();
}

/* --- entry points --------------------------------------------------------- */

static long discard(void *ctx, const void *buf, size_t len) {
  (void)ctx;
  (void)buf;
  return (long)len;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  cflame_on_error(on_error, NULL);
  /* Callsites are on only while a sink records: one that writes nowhere. */
  static cflame_guard_t *g;
  if (cflame_flame_writer(discard, NULL, NULL, &g) != 0)
    fail("no sink");
  /* Registered before any filter, so each input starts from the same
   * registry and the "" target's repair is reported once, here. */
  for (size_t i = 0; i < NSITES; i++)
    if (cflame_callsite_register(&sites[i].cs) != 2)
      fail("callsite %zu filtered out with no filter set", i);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = malloc(size + 1);
  if (!text)
    abort();
  if (size)
    memcpy(text, data, size);
  text[size] = '\0';
  cur_input = text;

  model_t m;
  model_parse(&m, text);

  uint32_t first[NSITES], again[NSITES];
  int rc = set_filter(text, &m);
  check_sites(&m, first);
  query_all(&m, text, 1);

  /* No filter: everything is on, from either spelling. */
  model_t none = {0, 0, NULL, 0};
  set_filter(NULL, &none);
  check_sites(&none, NULL);
  set_filter("", &none);
  check_sites(&none, NULL);

  /* The same string again, after other filters: the same interests. */
  int rc2 = set_filter(text, &m);
  if (rc2 != rc)
    fail("the same directives returned %d, then %d", rc, rc2);
  check_sites(&m, again);
  if (memcmp(first, again, sizeof first) != 0)
    fail("the same directives gave different interests");

  /* Empty pieces are no directives: commas around change nothing. Not
   * for "": that one means no filter, while "," is a filter of nothing. */
  if (text[0]) {
    char *wrapped = malloc(size + 4);
    if (!wrapped)
      abort();
    snprintf(wrapped, size + 4, ",%s,", text);
    if (set_filter(wrapped, &m) != rc)
      fail("surrounding commas changed the result");
    check_sites(&m, again);
    if (memcmp(first, again, sizeof first) != 0)
      fail("surrounding commas changed the interests");
    free(wrapped);
  }

  /* Unreported parsing must agree with the reported one. */
  cflame__registry_lock_for_fork();
  cflame__report_reset();
  config_reports = 0;
  if (cflame__filter_parse(text, 0) != rc || config_reports)
    fail("cflame__filter_parse(report 0) differs or reported");
  cflame__registry_unlock_after_fork();
  query_all(&m, text, 0);

  /* Leave no filter for the next input. */
  set_filter(NULL, &none);
  free(m.d);
  free(text);
  cur_input = NULL;
  return 0;
}
