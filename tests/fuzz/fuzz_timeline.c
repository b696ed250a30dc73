/* libFuzzer harness: timelines written with the JSON encoders must pass the
 * timeline checker, with the per-thread totals the script implies.
 *
 * The input is a script of events on two threads, written the way the
 * timeline sink is meant to write them: "[\n", each event followed by
 * ",\n" except the last, "\n]\n" at the end (or the file is left cut after
 * any event's ",\n"). Names, thread names and args come from the input as
 * raw bytes (any UTF-8, valid or not) through cflame__json_str and
 * cflame__json_args; times through cflame__json_ts. X events are leaves and
 * their thread's clock moves to their end (a parent X written after its
 * children would break the per-thread time order). */
#include "fuzz_input.h"
#include "json.h"
#include "timeline_check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 32
#define NAME_MAX_ 40

typedef struct {
  uint64_t now; /* ns */
  int depth, named;
  uint64_t start[MAX_DEPTH];
  char name[MAX_DEPTH][NAME_MAX_];
  size_t name_len[MAX_DEPTH];
  uint64_t top_ns, slices;
} thr_t;

typedef struct {
  char *buf;
  size_t len, cap;
  int events;
} out_t;

/* Room for n more bytes. */
static char *room(out_t *o, size_t n) {
  if (o->len + n > o->cap) {
    size_t cap = (o->len + n) * 2;
    char *b = realloc(o->buf, cap);
    if (!b)
      abort();
    o->buf = b;
    o->cap = cap;
  }
  return o->buf + o->len;
}

static void put(out_t *o, const char *s) {
  size_t n = strlen(s);
  memcpy(room(o, n), s, n);
  o->len += n;
}

/* Starts an event line: the separator after the previous one, then the
 * members every event has. */
static void begin(out_t *o, char ph, int tid) {
  char head[64];
  if (o->events++)
    put(o, ",\n");
  snprintf(head, sizeof head, "{\"ph\":\"%c\",\"pid\":1,\"tid\":%d", ph, tid);
  put(o, head);
}

static void put_ts(out_t *o, const char *key, uint64_t ns) {
  put(o, key);
  o->len += cflame__json_ts(room(o, CFLAME__JSON_TS_MAX), ns);
}

static void put_str(out_t *o, const char *key, const char *s, size_t n) {
  put(o, key);
  o->len += cflame__json_str(room(o, CFLAME__JSON_STR_MAX(n)), s, n);
}

/* A few fields of any type from the input; strings are raw input bytes
 * (copied to NUL-terminated buffers), keys too. */
static void put_args(out_t *o, rd_t *r, int numeric_only) {
  static char strs[8][NAME_MAX_ + 1];
  cflame_field_t f[4];
  size_t n = 1 + rd_u8(r) % 4;
  for (size_t i = 0; i < n; i++) {
    size_t kl = rd_u8(r) % 8, vl = rd_u8(r) % NAME_MAX_;
    for (size_t j = 0; j < kl; j++)
      strs[2 * i][j] = (char)(rd_u8(r) | 1); /* no NUL inside */
    strs[2 * i][kl] = '\0';
    f[i].key = strs[2 * i];
    f[i].type = (int)(rd_u8(r) % (numeric_only ? 2 : 6));
    switch (f[i].type) {
    case 0:
      f[i].v.i64 = (int64_t)rd_uint(r, 8);
      break;
    case 1:
      f[i].type = CFLAME_FIELD_F64;
      f[i].v.f64 = (double)(int32_t)rd_uint(r, 4) / 8.0; /* finite */
      break;
    case 2:
      f[i].type = CFLAME_FIELD_U64;
      f[i].v.u64 = rd_uint(r, 8);
      break;
    case 3:
      f[i].type = CFLAME_FIELD_BOOL;
      f[i].v.b = rd_u8(r) & 1;
      break;
    case 4:
      f[i].type = CFLAME_FIELD_STR;
      for (size_t j = 0; j < vl; j++)
        strs[2 * i + 1][j] = (char)(rd_u8(r) | 1);
      strs[2 * i + 1][vl] = '\0';
      f[i].v.str = strs[2 * i + 1];
      break;
    default:
      f[i].type = CFLAME_FIELD_STR;
      f[i].v.str = NULL;
      break;
    }
  }
  put(o, ",\"args\":");
  size_t cap = 2 + n * (2 + CFLAME__JSON_STR_MAX(8) +
                        CFLAME__JSON_STR_MAX(NAME_MAX_) + CFLAME__JSON_F64_MAX);
  size_t dropped = 1;
  o->len += cflame__json_args(room(o, cap), cap, f, n, &dropped);
  if (dropped)
    abort(); /* cap is the documented worst case: nothing may be dropped */
}

static void name_thread(out_t *o, thr_t *t, int tid, rd_t *r) {
  char name[NAME_MAX_];
  size_t n = rd_u8(r) % NAME_MAX_;
  for (size_t i = 0; i < n; i++)
    name[i] = (char)rd_u8(r);
  begin(o, 'M', tid);
  put_str(o, ",\"name\":\"thread_name\",\"args\":{\"name\":", name, n);
  put(o, "}}");
  t->named = 1;
}

static void end_slice(out_t *o, thr_t *t, int tid) {
  t->depth--;
  begin(o, 'E', tid);
  put_ts(o, ",\"ts\":", t->now);
  put_str(o, ",\"name\":", t->name[t->depth], t->name_len[t->depth]);
  put(o, "}");
  t->slices++;
  if (t->depth == 0)
    t->top_ns += t->now - t->start[0];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  rd_t r = {data, size};
  thr_t th[2];
  out_t o = {NULL, 0, 0, 0};
  int cur = 0, cut = rd_u8(&r) & 1;

  memset(th, 0, sizeof th);
  put(&o, "[\n");
  for (int steps = 0; r.n > 0 && steps < 200; steps++) {
    thr_t *t = &th[cur];
    int tid = cur + 1;
    if (!t->named)
      name_thread(&o, t, tid, &r);
    t->now += rd_uint(&r, 2);
    switch (rd_u8(&r) % 6) {
    case 0: /* B */
      if (t->depth == MAX_DEPTH)
        break;
      t->name_len[t->depth] = rd_u8(&r) % NAME_MAX_;
      for (size_t i = 0; i < t->name_len[t->depth]; i++)
        t->name[t->depth][i] = (char)rd_u8(&r);
      t->start[t->depth] = t->now;
      begin(&o, 'B', tid);
      put_ts(&o, ",\"ts\":", t->now);
      put_str(&o, ",\"name\":", t->name[t->depth], t->name_len[t->depth]);
      if (rd_u8(&r) & 1)
        put_args(&o, &r, 0);
      put(&o, "}");
      t->depth++;
      break;
    case 1: /* E */
      if (t->depth)
        end_slice(&o, t, tid);
      break;
    case 2: { /* X, a leaf: the thread's clock moves to its end */
      uint64_t dur = rd_uint(&r, 2);
      begin(&o, 'X', tid);
      put_ts(&o, ",\"ts\":", t->now);
      put_ts(&o, ",\"dur\":", dur);
      put_str(&o, ",\"name\":", (const char *)r.p, r.n < 8 ? r.n : 8);
      put(&o, "}");
      t->slices++;
      if (t->depth == 0)
        t->top_ns += dur;
      t->now += dur;
      break;
    }
    case 3: /* thread-scope instant with args */
      begin(&o, 'i', tid);
      put_ts(&o, ",\"ts\":", t->now);
      put(&o, ",\"s\":\"t\",\"name\":\"mark\"");
      put_args(&o, &r, 0);
      put(&o, "}");
      break;
    case 4: /* counter: numbers only */
      begin(&o, 'C', tid);
      put_ts(&o, ",\"ts\":", t->now);
      put(&o, ",\"name\":\"ctr\"");
      put_args(&o, &r, 1);
      put(&o, "}");
      break;
    default:
      cur ^= 1;
      break;
    }
  }
  if (cut) {
    if (o.events)
      put(&o, ",\n");
  } else {
    for (int i = 0; i < 2; i++)
      while (th[i].depth)
        end_slice(&o, &th[i], i + 1);
    put(&o, o.events ? "\n]\n" : "]\n");
  }

  timeline_check_error_t err;
  timeline_summary_t sum;
  if (timeline_check(o.buf, o.len,
                     cut ? TIMELINE_CHECK_E_NAMES
                         : TIMELINE_CHECK_E_NAMES | TIMELINE_CHECK_COMPLETE,
                     &err, &sum)) {
    fprintf(stderr, "fuzz_timeline: checker rejects line %zu: %s\n%.*s\n",
            err.line, err.msg, (int)(o.len < 2000 ? o.len : 2000), o.buf);
    abort();
  }
  if (sum.cut != cut)
    abort();
  for (int i = 0; i < 2; i++) {
    const timeline_thread_t *t = timeline_thread(&sum, 1, (uint64_t)i + 1);
    if (!th[i].named)
      continue;
    if (!t || t->top_ns != th[i].top_ns || t->slices != th[i].slices) {
      fprintf(stderr,
              "fuzz_timeline: thread %d: want %llu ns in %llu "
              "slices, checker says %llu in %zu\n",
              i + 1, (unsigned long long)th[i].top_ns,
              (unsigned long long)th[i].slices,
              t ? (unsigned long long)t->top_ns : 0ull, t ? t->slices : 0);
      abort();
    }
  }
  timeline_summary_free(&sum);
  free(o.buf);
  return 0;
}
