/* Strict checker for timeline files: the file grammar, each event line as
 * strict JSON, then the rules of timeline_events.c and the end-of-file
 * pairings. See timeline_check.h. */
#include "timeline_priv.h"
#include "files.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int tl_fail(tl_ctx_t *c, timeline_rule_t rule, size_t byte, const char *fmt,
            ...) {
  va_list ap;
  if (!c->err || c->err->rule != TL_OK)
    return -1;
  c->err->rule = rule;
  c->err->line = c->line;
  c->err->byte = byte;
  va_start(ap, fmt);
  vsnprintf(c->err->msg, sizeof c->err->msg, fmt, ap);
  va_end(ap);
  /* messages quote names through tl_show, but keep them ASCII anyway */
  for (char *m = c->err->msg; *m; m++)
    if ((unsigned char)*m < 0x20 || (unsigned char)*m >= 0x7f)
      *m = '?';
  return -1;
}

const char *tl_show(char *buf, size_t cap, const char *s, size_t n) {
  size_t o = 0, i;
  for (i = 0; i < n && i < 40 && o + 5 < cap; i++) {
    unsigned char ch = (unsigned char)s[i];
    if (ch >= 0x20 && ch < 0x7f && ch != '"' && ch != '\\')
      buf[o++] = (char)ch;
    else
      o += (size_t)snprintf(buf + o, cap - o, "\\x%02X", ch);
  }
  if (i < n && o + 4 < cap) {
    memcpy(buf + o, "...", 3);
    o += 3;
  }
  buf[o] = '\0';
  return buf;
}

/* Sorts flows by key, then s before f, then time, then file order. */
static int cmp_flow(const void *pa, const void *pb) {
  const tl_keyed_t *a = pa, *b = pb;
  size_t n = a->klen < b->klen ? a->klen : b->klen;
  int r = memcmp(a->key, b->key, n);
  if (r)
    return r;
  if (a->klen != b->klen)
    return a->klen < b->klen ? -1 : 1;
  if (a->is_f != b->is_f)
    return a->is_f - b->is_f;
  if (a->ts != b->ts)
    return a->ts < b->ts ? -1 : 1;
  return a->line < b->line ? -1 : a->line > b->line;
}

static int same_key(const tl_keyed_t *a, const tl_keyed_t *b) {
  return a->klen == b->klen && !memcmp(a->key, b->key, a->klen);
}

/* Per (cat, id): as many f as s, the i-th f (in time) not before the i-th s. */
static int check_flows(tl_ctx_t *c) {
  char a[64];
  size_t i = 0;
  if (c->nflows)
    qsort(c->flows, c->nflows, sizeof *c->flows, cmp_flow);
  while (i < c->nflows) {
    size_t s0 = i, f0, end;
    while (i < c->nflows && same_key(&c->flows[i], &c->flows[s0]) &&
           !c->flows[i].is_f)
      i++;
    f0 = i;
    while (i < c->nflows && same_key(&c->flows[i], &c->flows[s0]))
      i++;
    end = i;
    const tl_keyed_t *k = &c->flows[s0];
    tl_show(a, sizeof a, k->key, strlen(k->key));
    if (f0 - s0 != end - f0) {
      const tl_keyed_t *odd = f0 - s0 > end - f0 ? &c->flows[s0 + (end - f0)]
                                                 : &c->flows[f0 + (f0 - s0)];
      c->line = odd->line;
      return tl_fail(c, TL_FLOW, odd->byte,
                     "flow %c (cat \"%s\") has no matching %c with the same "
                     "cat and id",
                     odd->is_f ? 'f' : 's', a, odd->is_f ? 's' : 'f');
    }
    for (size_t j = 0; j < f0 - s0; j++)
      if (c->flows[f0 + j].ts < c->flows[s0 + j].ts) {
        c->line = c->flows[f0 + j].line;
        return tl_fail(c, TL_FLOW, c->flows[f0 + j].byte,
                       "flow f (cat \"%s\") is earlier than its s (line %zu)",
                       a, c->flows[s0 + j].line);
      }
  }
  return 0;
}

/* Each flow event lies in a slice of its thread that begins before it in
 * the file: start <= ts < end, or ts at the start (a slice still open at
 * the end has no end). Viewers bind flows by time once the file is read,
 * so a flow may come after its slice ended; but Perfetto reads events of
 * one ts in file order, so a slice that begins at the flow's ts later in
 * the file is not the flow's. */
static int check_binding(tl_ctx_t *c) {
  for (size_t i = 0; i < c->nthr; i++) {
    tl_thread_t *t = &c->thr[i];
    for (size_t d = 0; d < t->depth; d++)
      if (!t->stack[d].is_x &&
          tl_add_span(c, t, t->stack[d].start, UINT64_MAX, t->stack[d].line))
        return -1;
  }
  for (size_t i = 0; i < c->nflows; i++) {
    const tl_keyed_t *k = &c->flows[i];
    const tl_thread_t *t = &c->thr[k->thr];
    size_t j = 0;
    for (; j < t->nspans; j++) {
      const uint64_t *s = t->spans[j];
      if (s[2] < k->line && s[0] <= k->ts &&
          (k->ts < s[1] || k->ts == s[0]))
        break;
    }
    if (j == t->nspans) {
      c->line = k->line;
      return tl_fail(c, TL_FLOW, k->byte,
                     "flow %c is not inside a slice of its thread begun "
                     "before it",
                     k->is_f ? 'f' : 's');
    }
  }
  return 0;
}

/* Rules that need the whole file. */
static int check_end(tl_ctx_t *c, int cut) {
  char a[64];
  if (check_binding(c))
    return -1;
  for (size_t i = 0; i < c->nthr; i++) {
    tl_thread_t *t = &c->thr[i];
    if (t->pub.events && !t->named) {
      c->line = t->first_line;
      return tl_fail(c, TL_NAMES, t->first_byte,
                     "thread %llu:%llu has events but no thread_name "
                     "metadata event",
                     (unsigned long long)t->pub.pid,
                     (unsigned long long)t->pub.tid);
    }
  }
  if (cut)
    return 0;
  for (size_t i = 0; i < c->nthr; i++) {
    tl_thread_t *t = &c->thr[i];
    for (size_t d = t->depth; d-- > 0;)
      if (!t->stack[d].is_x) {
        c->line = t->stack[d].line;
        return tl_fail(
            c, TL_NESTING, 0, "B \"%s\" is never ended in a complete file",
            tl_show(a, sizeof a, t->stack[d].name, strlen(t->stack[d].name)));
      }
  }
  if (c->nasync) {
    c->line = c->async[0].line;
    return tl_fail(
        c, TL_ASYNC, c->async[0].byte,
        "async b \"%s\" is never ended in a complete file",
        tl_show(a, sizeof a, c->async[0].name, strlen(c->async[0].name)));
  }
  return check_flows(c);
}

/* The grammar of timeline_check.h, one line at a time. */
static int check_lines(tl_ctx_t *c, const char *buf, size_t len, int *cut) {
  size_t pos = 2;
  int after_comma = 0;

  c->line = 1;
  c->byte = 0;
  if (len == 0)
    return tl_fail(c, TL_FRAMING, 0, "empty file: a timeline starts \"[\\n\"");
  if (len >= 3 && !memcmp(buf, "\xEF\xBB\xBF", 3))
    return tl_fail(c, TL_FRAMING, 0, "byte order mark at the start");
  if (len < 2 || buf[0] != '[' || buf[1] != '\n')
    return tl_fail(c, TL_FRAMING, 0, "the first line must be exactly \"[\"");
  if (len - pos == 2 && !memcmp(buf + pos, "]\n", 2)) {
    *cut = 0;
    return 0;
  }
  for (;;) {
    const char *nl;
    size_t end, at;
    json_value_t ev;
    json_error_t jerr;
    int rc;

    c->line++;
    c->byte = pos;
    if (pos == len) { /* "[\n", or cut after ",\n" */
      *cut = 1;
      return 0;
    }
    nl = memchr(buf + pos, '\n', len - pos);
    end = nl ? (size_t)(nl - buf) : len;
    if (end == pos)
      return tl_fail(c, TL_FRAMING, pos, "blank line");
    if (memchr(buf + pos, '\r', end - pos))
      return tl_fail(c, TL_FRAMING, pos, "CR in a line (LF line ends only)");
    if (buf[pos] == ' ' || buf[pos] == '\t')
      return tl_fail(c, TL_FRAMING, pos, "whitespace before an event");
    if (end - pos == 1 && buf[pos] == ']')
      return tl_fail(c, TL_FRAMING, pos,
                     after_comma ? "',' after the last event (not JSON)"
                                 : "an empty timeline is exactly "
                                   "\"[\\n]\\n\"");
    at = pos;
    if (json_parse_value(buf, end, &at, JSON_ONE_LINE | JSON_UNIQUE_TOP, &ev,
                         &jerr)) {
      if (!nl)
        return tl_fail(c, TL_FRAMING, jerr.off,
                       "the file ends inside an event (half a line: %s)",
                       jerr.msg);
      return tl_fail(c, TL_JSON, jerr.off, "not strict JSON: %s", jerr.msg);
    }
    rc = tl_event(c, &ev);
    json_free(&ev);
    c->nevents++;
    if (rc)
      return -1;
    if (at == end - 1 && buf[at] == ',') {
      if (!nl)
        return tl_fail(c, TL_FRAMING, at, "',' at the end without LF");
      after_comma = 1;
      pos = end + 1;
      continue;
    }
    if (at != end)
      return tl_fail(c, TL_FRAMING, at,
                     "after an event only \",\" may follow on its line");
    /* the last event: then nothing, LF, or LF "]" LF */
    if (!nl || end + 1 == len) {
      *cut = 1;
      return 0;
    }
    c->line++;
    if (len - (end + 1) == 2 && !memcmp(buf + end + 1, "]\n", 2)) {
      *cut = 0;
      return 0;
    }
    return tl_fail(c, TL_FRAMING, end + 1,
                   "',' missing after the event on the line before, or "
                   "something other than \"]\\n\" closes the file");
  }
}

static void free_ctx(tl_ctx_t *c) {
  for (size_t i = 0; i < c->nthr; i++) {
    for (size_t d = 0; d < c->thr[i].depth; d++)
      free(c->thr[i].stack[d].name);
    free(c->thr[i].stack);
    free(c->thr[i].spans);
  }
  for (size_t i = 0; i < c->nasync; i++) {
    free(c->async[i].key);
    free(c->async[i].name);
  }
  for (size_t i = 0; i < c->nflows; i++)
    free(c->flows[i].key);
  free(c->thr);
  free(c->async);
  free(c->flows);
}

int timeline_check(const char *buf, size_t len, unsigned flags,
                   timeline_check_error_t *err, timeline_summary_t *sum) {
  timeline_check_error_t local;
  tl_ctx_t c;
  int cut = 0, rc;

  memset(&c, 0, sizeof c);
  c.err = err ? err : &local;
  c.flags = flags;
  memset(c.err, 0, sizeof *c.err);
  if (sum)
    memset(sum, 0, sizeof *sum);
  rc = check_lines(&c, buf, len, &cut);
  if (!rc && cut && (flags & TIMELINE_CHECK_COMPLETE)) {
    c.line = 0;
    rc = tl_fail(&c, TL_INCOMPLETE, len,
                 "the file is cut (not closed by \"\\n]\\n\")");
  }
  if (!rc)
    rc = check_end(&c, cut);
  if (!rc && sum) {
    sum->cut = cut;
    sum->events = c.nevents;
    sum->threads = calloc(c.nthr ? c.nthr : 1, sizeof *sum->threads);
    if (!sum->threads) {
      rc = tl_fail(&c, TL_IO, 0, "out of memory");
    } else {
      for (size_t i = 0; i < c.nthr; i++)
        sum->threads[i] = c.thr[i].pub;
      sum->nthreads = c.nthr;
    }
  }
  free_ctx(&c);
  return rc;
}

int timeline_check_file(const char *path, unsigned flags,
                        timeline_check_error_t *err, timeline_summary_t *sum) {
  char *buf;
  size_t len;
  int errnum;

  if (sum)
    memset(sum, 0, sizeof *sum);
  const char *what = file_read(path, &buf, &len, &errnum);
  if (what) {
    if (err) {
      memset(err, 0, sizeof *err);
      err->rule = TL_IO;
      snprintf(err->msg, sizeof err->msg, "%s: %s", what, strerror(errnum));
    }
    return -1;
  }
  int rc = timeline_check(buf, len, flags, err, sum);
  free(buf);
  return rc;
}

const timeline_thread_t *timeline_thread(const timeline_summary_t *sum,
                                         uint64_t pid, uint64_t tid) {
  for (size_t i = 0; i < sum->nthreads; i++)
    if (sum->threads[i].pid == pid && sum->threads[i].tid == tid)
      return &sum->threads[i];
  return NULL;
}

void timeline_summary_free(timeline_summary_t *sum) {
  free(sum->threads);
  sum->threads = NULL;
  sum->nthreads = 0;
}
