/* The timeline rules of one event: members, per-thread order and nesting,
 * async and flow bookkeeping. See timeline_check.h for the rules. */
#include "timeline_priv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NS_LIMIT 18446744073709551615.0

/* A non-negative integer written as plain digits (no sign, '.', exponent). */
static int as_uint(const json_value_t *v, uint64_t *out) {
  uint64_t x = 0;
  if (!v || v->type != JSON_NUMBER || v->text_len > 19)
    return -1;
  for (size_t i = 0; i < v->text_len; i++) {
    if (v->text[i] < '0' || v->text[i] > '9')
      return -1;
    x = x * 10 + (uint64_t)(v->text[i] - '0');
  }
  *out = x;
  return 0;
}

/* An integer of either sign. */
static int is_int(const json_value_t *v) {
  if (!v || v->type != JSON_NUMBER)
    return 0;
  for (size_t i = 0; i < v->text_len; i++)
    if (v->text[i] == '.' || v->text[i] == 'e' || v->text[i] == 'E')
      return 0;
  return 1;
}

/* Microseconds >= 0 to ns: exact for "digits[.ddd]", rounded otherwise. */
static int us_to_ns(tl_ctx_t *c, const json_value_t *v, const char *what,
                    uint64_t *ns) {
  size_t i = 0, n;
  uint64_t whole = 0, frac = 0;
  int digits = 0;

  if (!v || v->type != JSON_NUMBER)
    return tl_fail(c, TL_FIELD, v ? v->off : c->byte, "\"%s\" must be a number",
                   what);
  if (v->num < 0)
    return tl_fail(c, TL_FIELD, v->off, "\"%s\" is negative", what);
  n = v->text_len;
  while (i < n && v->text[i] >= '0' && v->text[i] <= '9' && i < 16)
    whole = whole * 10 + (uint64_t)(v->text[i++] - '0');
  if (i < n && v->text[i] == '.')
    for (i++; i < n && v->text[i] >= '0' && v->text[i] <= '9' && digits < 3;
         digits++)
      frac = frac * 10 + (uint64_t)(v->text[i++] - '0');
  if (i == n) {
    while (digits++ < 3)
      frac *= 10;
    *ns = whole * 1000 + frac;
    return 0;
  }
  if (v->num * 1000.0 >= NS_LIMIT)
    return tl_fail(c, TL_FIELD, v->off, "\"%s\" too large", what);
  *ns = (uint64_t)(v->num * 1000.0 + 0.5);
  return 0;
}

static const char *str_of(const json_value_t *ev, const char *key) {
  const json_value_t *v = json_get(ev, key);
  return v && v->type == JSON_STRING ? v->str : NULL;
}

static tl_thread_t *thread_of(tl_ctx_t *c, uint64_t pid, uint64_t tid) {
  for (size_t i = c->nthr; i-- > 0;)
    if (c->thr[i].pub.pid == pid && c->thr[i].pub.tid == tid)
      return &c->thr[i];
  if (c->nthr == c->capthr) {
    size_t cap = c->capthr ? c->capthr * 2 : 8;
    tl_thread_t *t = realloc(c->thr, cap * sizeof *t);
    if (!t)
      return NULL;
    c->thr = t;
    c->capthr = cap;
  }
  tl_thread_t *t = &c->thr[c->nthr++];
  memset(t, 0, sizeof *t);
  t->pub.pid = pid;
  t->pub.tid = tid;
  return t;
}

/* The key of an async or flow event: cat, NUL, "s:" or "n:" and the id. */
static char *key_of(tl_ctx_t *c, const json_value_t *ev, size_t *klen,
                    const char *name) {
  const json_value_t *cat = json_get(ev, "cat"), *id = json_get(ev, "id");
  uint64_t u;
  if (!cat || cat->type != JSON_STRING) {
    tl_fail(c, TL_FIELD, c->byte, "\"cat\" (a string) is required");
    return NULL;
  }
  if (!id || (id->type != JSON_STRING && as_uint(id, &u))) {
    tl_fail(c, TL_FIELD, id ? id->off : c->byte,
            "\"id\" (a string or a non-negative integer) is required");
    return NULL;
  }
  const char *idt = id->type == JSON_STRING ? id->str : id->text;
  size_t il = id->type == JSON_STRING ? id->len : id->text_len;
  size_t nl = name ? strlen(name) + 1 : 0;
  char *k = malloc(cat->len + il + 3 + nl);
  if (!k) {
    tl_fail(c, TL_IO, c->byte, "out of memory");
    return NULL;
  }
  memcpy(k, cat->str, cat->len + 1);
  memcpy(k + cat->len + 1, id->type == JSON_STRING ? "s:" : "n:", 2);
  memcpy(k + cat->len + 3, idt, il);
  *klen = cat->len + 3 + il;
  if (name) { /* Perfetto pairs flows on cat, id and name */
    k[*klen] = '\0';
    memcpy(k + *klen + 1, name, nl - 1);
    *klen += nl;
  }
  return k;
}

static int push_keyed(tl_ctx_t *c, tl_keyed_t **arr, size_t *n, size_t *cap,
                      const tl_keyed_t *k) {
  if (*n == *cap) {
    size_t ncap = *cap ? *cap * 2 : 16;
    tl_keyed_t *a = realloc(*arr, ncap * sizeof *a);
    if (!a)
      return tl_fail(c, TL_IO, c->byte, "out of memory");
    *arr = a;
    *cap = ncap;
  }
  (*arr)[(*n)++] = *k;
  return 0;
}

/* Ends the X slices on top of the stack that are over by ts. */
static void pop_ended(tl_thread_t *t, uint64_t ts) {
  while (t->depth && t->stack[t->depth - 1].is_x &&
         t->stack[t->depth - 1].end <= ts)
    free(t->stack[--t->depth].name);
}

static int push_slice(tl_ctx_t *c, tl_thread_t *t, const tl_slice_t *s) {
  if (t->depth == t->cap) {
    size_t cap = t->cap ? t->cap * 2 : 16;
    tl_slice_t *st = realloc(t->stack, cap * sizeof *st);
    if (!st)
      return tl_fail(c, TL_IO, c->byte, "out of memory");
    t->stack = st;
    t->cap = cap;
  }
  t->stack[t->depth++] = *s;
  return 0;
}

int tl_add_span(tl_ctx_t *c, tl_thread_t *t, uint64_t start, uint64_t end,
                size_t line) {
  if (t->nspans == t->capspans) {
    size_t cap = t->capspans ? t->capspans * 2 : 64;
    uint64_t(*s)[3] = realloc(t->spans, cap * sizeof *s);
    if (!s)
      return tl_fail(c, TL_IO, c->byte, "out of memory");
    t->spans = s;
    t->capspans = cap;
  }
  t->spans[t->nspans][0] = start;
  t->spans[t->nspans][1] = end;
  t->spans[t->nspans++][2] = line;
  return 0;
}

static int add_slice(tl_ctx_t *c, tl_thread_t *t, uint64_t start,
                     uint64_t dur, size_t line) {
  t->pub.slices++;
  if (t->depth == 0)
    t->pub.top_ns += dur;
  return tl_add_span(c, t, start, start + dur, line);
}

/* B, E, X: nesting on the thread's stack of open slices. */
static int slice_event(tl_ctx_t *c, tl_thread_t *t, char ph, uint64_t ts,
                       const json_value_t *ev, const char *name) {
  char a[64], b[64];
  tl_slice_t s = {0, ts, 0, NULL, c->line};

  pop_ended(t, ts);
  tl_slice_t *top = t->depth ? &t->stack[t->depth - 1] : NULL;
  if (ph == 'B' || ph == 'X') {
    if (!(s.name = strdup(name)))
      return tl_fail(c, TL_IO, c->byte, "out of memory");
  }
  if (ph == 'B') {
    if (push_slice(c, t, &s)) {
      free(s.name);
      return -1;
    }
    return 0;
  }
  if (ph == 'X') {
    uint64_t dur;
    int rc = 0;
    if (us_to_ns(c, json_get(ev, "dur"), "dur", &dur))
      rc = -1;
    else if (ts + dur < ts)
      rc = tl_fail(c, TL_FIELD, c->byte, "ts + dur too large");
    else if (top && top->is_x && ts + dur > top->end)
      rc = tl_fail(c, TL_NESTING, c->byte,
                   "X \"%s\" ends after the X \"%s\" (line %zu) that "
                   "encloses it",
                   tl_show(a, sizeof a, name, strlen(name)),
                   tl_show(b, sizeof b, top->name, strlen(top->name)),
                   top->line);
    if (rc) {
      free(s.name);
      return -1;
    }
    if (add_slice(c, t, ts, dur, c->line)) {
      free(s.name);
      return -1;
    }
    s.is_x = 1;
    s.end = ts + dur;
    if (push_slice(c, t, &s)) {
      free(s.name);
      return -1;
    }
    return 0;
  }
  /* E */
  if (!top)
    return tl_fail(c, TL_NESTING, c->byte, "E without an open B");
  if (top->is_x)
    return tl_fail(c, TL_NESTING, c->byte,
                   "E ends the B below the X \"%s\" (line %zu) that is "
                   "still running",
                   tl_show(a, sizeof a, top->name, strlen(top->name)),
                   top->line);
  if (name && strcmp(name, top->name))
    return tl_fail(c, TL_NESTING, c->byte,
                   "E \"%s\" does not match the open B \"%s\" (line %zu)",
                   tl_show(a, sizeof a, name, strlen(name)),
                   tl_show(b, sizeof b, top->name, strlen(top->name)),
                   top->line);
  free(top->name);
  t->depth--;
  if (add_slice(c, t, top->start, ts - top->start, top->line))
    return -1;
  if (t->depth && t->stack[t->depth - 1].is_x &&
      t->stack[t->depth - 1].end < ts)
    return tl_fail(c, TL_NESTING, c->byte,
                   "B/E slice ends after the X \"%s\" (line %zu) that "
                   "encloses it",
                   tl_show(a, sizeof a, t->stack[t->depth - 1].name,
                           strlen(t->stack[t->depth - 1].name)),
                   t->stack[t->depth - 1].line);
  return 0;
}

static int async_event(tl_ctx_t *c, char ph, uint64_t ts, const char *name,
                       const json_value_t *ev) {
  char a[64], b[64];
  tl_keyed_t k = {NULL, 0, NULL, 0, ts, c->line, c->byte, 0};
  if (!(k.key = key_of(c, ev, &k.klen, NULL)))
    return -1;
  if (ph == 'b') {
    if (!(k.name = strdup(name))) {
      free(k.key);
      return tl_fail(c, TL_IO, c->byte, "out of memory");
    }
    if (push_keyed(c, &c->async, &c->nasync, &c->capasync, &k)) {
      free(k.key);
      free(k.name);
      return -1;
    }
    return 0;
  }
  size_t i = c->nasync;
  while (i > 0 && (c->async[i - 1].klen != k.klen ||
                   memcmp(c->async[i - 1].key, k.key, k.klen)))
    i--;
  free(k.key);
  if (i == 0)
    return tl_fail(c, TL_ASYNC, c->byte,
                   "async e without an open b of the same cat and id");
  tl_keyed_t *o = &c->async[i - 1];
  if (strcmp(name, o->name))
    return tl_fail(c, TL_ASYNC, c->byte,
                   "async e \"%s\" does not match the open b \"%s\" "
                   "(line %zu)",
                   tl_show(a, sizeof a, name, strlen(name)),
                   tl_show(b, sizeof b, o->name, strlen(o->name)), o->line);
  if (ts < o->ts)
    return tl_fail(c, TL_ASYNC, c->byte,
                   "async e earlier than its b (line %zu)", o->line);
  free(o->key);
  free(o->name);
  memmove(o, o + 1, (size_t)(c->async + c->nasync - (o + 1)) * sizeof *o);
  c->nasync--;
  return 0;
}

/* Flows bind to the slice around their ts on their thread, whenever that
 * slice is written: checked at the end (timeline_check.c). */
static int flow_event(tl_ctx_t *c, tl_thread_t *t, char ph, uint64_t ts,
                      const json_value_t *ev, const char *name) {
  tl_keyed_t k = {NULL, 0, NULL, ph == 'f', ts, c->line, c->byte,
                  (size_t)(t - c->thr)};
  const char *bp = str_of(ev, "bp");
  if (ph == 'f' && (!bp || strcmp(bp, "e")))
    return tl_fail(c, TL_FIELD, c->byte,
                   "flow f needs \"bp\":\"e\" (bind to the enclosing slice)");
  if (!(k.key = key_of(c, ev, &k.klen, name)))
    return -1;
  if (push_keyed(c, &c->flows, &c->nflows, &c->capflows, &k)) {
    free(k.key);
    return -1;
  }
  return 0;
}

static int metadata_event(tl_ctx_t *c, const char *name, const json_value_t *ev,
                          tl_thread_t *t) {
  const json_value_t *args = json_get(ev, "args");
  if (!strcmp(name, "thread_sort_index")) {
    if (!args || !is_int(json_get(args, "sort_index")))
      return tl_fail(c, TL_FIELD, c->byte,
                     "thread_sort_index needs args.sort_index, an integer");
    return 0;
  }
  if (strcmp(name, "thread_name") && strcmp(name, "process_name"))
    return tl_fail(c, TL_FIELD, c->byte,
                   "unsupported metadata \"%s\" (thread_name, process_name, "
                   "thread_sort_index)",
                   name);
  const char *n = args ? str_of(args, "name") : NULL;
  if (!n)
    return tl_fail(c, TL_FIELD, c->byte, "%s needs args.name, a string", name);
  if (t) {
    t->named = 1;
    snprintf(t->pub.name, sizeof t->pub.name, "%s", n);
  }
  return 0;
}

static int counter_event(tl_ctx_t *c, const json_value_t *ev) {
  const json_value_t *args = json_get(ev, "args");
  char a[64];
  if (!args || args->len == 0)
    return tl_fail(c, TL_COUNTER, c->byte,
                   "counter needs \"args\" with at least one value");
  for (size_t i = 0; i < args->len; i++)
    if (args->items[i].type != JSON_NUMBER)
      return tl_fail(c, TL_COUNTER, args->items[i].off,
                     "counter value \"%s\" is not a number",
                     tl_show(a, sizeof a, args->keys[i], args->key_lens[i]));
  return 0;
}

int tl_event(tl_ctx_t *c, const json_value_t *ev) {
  const json_value_t *v;
  const char *ph = str_of(ev, "ph"), *name = str_of(ev, "name"), *scope;
  uint64_t pid, tid = 0, ts = 0;
  int need_tid, need_name, has_tid;
  tl_thread_t *t = NULL;

  if (ev->type != JSON_OBJECT)
    return tl_fail(c, TL_FIELD, c->byte, "an event must be a JSON object");
  if (!ph || strlen(ph) != 1 || !strchr("BEXiCbesfM", ph[0]))
    return tl_fail(c, TL_FIELD, c->byte,
                   "\"ph\" must be one of B E X i C b e s f M");
  char p = ph[0];
  if (as_uint(json_get(ev, "pid"), &pid))
    return tl_fail(c, TL_FIELD, c->byte,
                   "\"pid\" (a non-negative integer) is required");
  scope = str_of(ev, "s");
  if (p == 'i' && json_get(ev, "s") &&
      (!scope || strlen(scope) != 1 || !strchr("tpg", scope[0])))
    return tl_fail(c, TL_FIELD, c->byte, "\"s\" must be \"t\", \"p\" or \"g\"");
  need_tid =
      strchr("BEXsfbe", p) || (p == 'i' && (!scope || *scope == 't')) ||
      (p == 'M' && name &&
       (!strcmp(name, "thread_name") || !strcmp(name, "thread_sort_index")));
  has_tid = json_get(ev, "tid") != NULL;
  if ((need_tid || has_tid) && as_uint(json_get(ev, "tid"), &tid))
    return tl_fail(c, TL_FIELD, c->byte,
                   "\"tid\" (a non-negative integer) is required");
  need_name = p != 'E' || (c->flags & TIMELINE_CHECK_E_NAMES);
  if ((need_name && !name) || (json_get(ev, "name") && !name))
    return tl_fail(c, TL_FIELD, c->byte, "\"name\" (a string) is required");
  if ((v = json_get(ev, "args")) && v->type != JSON_OBJECT)
    return tl_fail(c, TL_FIELD, v->off, "\"args\" must be an object");
  if ((v = json_get(ev, "cat")) && v->type != JSON_STRING)
    return tl_fail(c, TL_FIELD, v->off, "\"cat\" must be a string");
  if ((p != 'M' || json_get(ev, "ts")) &&
      us_to_ns(c, json_get(ev, "ts"), "ts", &ts))
    return -1;

  if (need_tid && !(t = thread_of(c, pid, tid)))
    return tl_fail(c, TL_IO, c->byte, "out of memory");
  if (p == 'M')
    return metadata_event(c, name, ev, t);
  if (p == 'C')
    return counter_event(c, ev);
  if (!t)
    return 0; /* process or global instant */
  if (t->pub.events++ == 0) {
    t->first_line = c->line;
    t->first_byte = c->byte;
  }
  if (strchr("BEXi", p)) {
    if (ts < t->last_ts)
      return tl_fail(c, TL_ORDER, json_get(ev, "ts")->off,
                     "ts goes back in time on thread %llu:%llu (%llu ns "
                     "before the previous event)",
                     (unsigned long long)pid, (unsigned long long)tid,
                     (unsigned long long)(t->last_ts - ts));
    t->last_ts = ts;
  }
  if (strchr("BEX", p))
    return slice_event(c, t, p, ts, ev, name);
  if (p == 'b' || p == 'e')
    return async_event(c, p, ts, name, ev);
  if (p == 's' || p == 'f')
    return flow_event(c, t, p, ts, ev, name);
  return 0;
}
