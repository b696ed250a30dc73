/* The timeline sink's registry spans: each one's lifetime as an async slice
 * (b at its creation, e at its last close, on a track of its own), and
 * flow arrows (s -> f) from each place it was in to the next: from the
 * slice it was created in, if any, to its first enter, then from each
 * enter to the next one, on whatever threads they ran.
 *
 * An arrow is written once both its ends are known, which can be after
 * either thread has moved on: rings drain per thread, so enters of one
 * span reach the sink out of order. The core numbers a span's enters (the
 * CFLAME_RECORD_SPAN before each ENTER), so ends pair up by number, not by
 * arrival; and the close says how many there were, so the last enter
 * waits for no arrow. Nothing is written for a start without its end. */
#include "timeline.h"

#include <stdlib.h>
#include <string.h>

/* One place of a span: its creation (seq 0) or enter seq. */
typedef struct tend_s {
  uint32_t seq;
  uint8_t prev_done, next_done; /* arrow in / out written, or none due */
  uint64_t tid, ns;
} tend_t;

struct tspan_s {
  tspan_t *next; /* hash chain */
  uint64_t id;   /* the core's span id */
  uint64_t num;  /* its async id in the file */
  uint32_t site; /* at creation */
  uint64_t tid, ns; /* of its b */
  uint32_t enters;  /* known at close */
  uint32_t seen;    /* enters seen */
  int closed, has_e0;
  tend_t *ends;
  uint32_t nends, cap;
};

static const char cat[] = ",\"cat\":\"cflame\",\"id\":";

/* --- the map ------------------------------------------------------------ */

static size_t bucket(const tl_t *tl, uint64_t id) {
  return (size_t)((id * UINT64_C(0x9E3779B97F4A7C15)) >> 32) &
         (tl->nbuckets - 1);
}

static tspan_t **find(tl_t *tl, uint64_t id) {
  if (!tl->nbuckets)
    return NULL;
  tspan_t **pp = &tl->spans[bucket(tl, id)];
  while (*pp && (*pp)->id != id)
    pp = &(*pp)->next;
  return *pp ? pp : NULL;
}

static int insert(tl_t *tl, tspan_t *sp) {
  if (tl->nspans_live >= tl->nbuckets) {
    size_t nb = tl->nbuckets ? tl->nbuckets * 2 : 64;
    tspan_t **b = calloc(nb, sizeof *b);
    if (!b)
      return -1;
    size_t old = tl->nbuckets;
    tspan_t **ob = tl->spans;
    tl->spans = b;
    tl->nbuckets = nb;
    for (size_t i = 0; i < old; i++)
      for (tspan_t *s = ob[i], *n; s; s = n) {
        n = s->next;
        size_t k = bucket(tl, s->id);
        s->next = b[k];
        b[k] = s;
      }
    free(ob);
  }
  size_t k = bucket(tl, sp->id);
  sp->next = tl->spans[k];
  tl->spans[k] = sp;
  tl->nspans_live++;
  return 0;
}

static void span_free(tl_t *tl, tspan_t **pp) {
  tspan_t *sp = *pp;
  *pp = sp->next;
  tl->nspans_live--;
  free(sp->ends);
  free(sp);
}

/* --- lines ---------------------------------------------------------------- */

/* {"ph":PH[,"bp":"e"],"cat":"cflame","id":ID,"pid":P,"tid":T,"ts":TS TEXT}
 * into p (room for pid_len + len + 200); returns its length. */
static size_t format(const tl_t *tl, char *p, const char *ph, uint64_t id,
                     uint64_t tid, uint64_t ns, const char *text, size_t len) {
  size_t n = strlen(ph);
  memcpy(p, ph, n);
  memcpy(p + n, cat, sizeof cat - 1);
  n += sizeof cat - 1;
  n += cflame__json_u64(p + n, id);
  p[n++] = ',';
  memcpy(p + n, tl->pid, tl->pid_len);
  n += tl->pid_len;
  memcpy(p + n, ",\"tid\":", 7);
  n += 7;
  n += cflame__json_u64(p + n, tid);
  memcpy(p + n, ",\"ts\":", 6);
  n += 6;
  n += cflame__json_ts(p + n, ns);
  memcpy(p + n, text, len);
  n += len;
  memcpy(p + n, "},\n", 3);
  return n + 3;
}

static void line(tl_t *tl, const char *ph, uint64_t id, uint64_t tid,
                 uint64_t ns, const char *text, size_t len) {
  char *p = cflame__writer_room(&tl->w, tl->pid_len + len + 200);
  if (!p) {
    cflame__tl_dropped("a registry span event (out of memory)");
    return;
  }
  cflame__writer_commit(&tl->w, format(tl, p, ph, id, tid, ns, text, len));
  tl->lines++;
}

/* A flow line at (tid, ns). Viewers bind it to the slice around ns on its
 * thread; Perfetto reads events of one ts in file order, so a line at the
 * start of a slice not written yet (the thread's pending one) is held and
 * written right after that slice. */
static void flow_line(tl_t *tl, const char *ph, uint64_t id, uint64_t tid,
                      uint64_t ns, const char *text, size_t len) {
  tthread_t *th = tl->threads;
  while (th && th->tid != tid)
    th = th->next;
  if (!th || !th->pending || th->pending_ns > ns) {
    line(tl, ph, id, tid, ns, text, len);
    return;
  }
  size_t need = th->held_len + tl->pid_len + len + 200;
  if (need > th->held_cap) {
    size_t c = th->held_cap ? th->held_cap * 2 : 1024;
    while (c < need)
      c *= 2;
    char *h = realloc(th->held, c);
    if (!h) {
      cflame__tl_dropped("a flow arrow (out of memory)");
      return;
    }
    th->held = h;
    th->held_cap = c;
  }
  th->held_len += format(tl, th->held + th->held_len, ph, id, tid, ns, text,
                         len);
  tl->lines++;
}

void cflame__tl_release_held(tl_t *tl, tthread_t *th) {
  char *p = cflame__writer_room(&tl->w, th->held_len);
  if (p) {
    memcpy(p, th->held, th->held_len);
    cflame__writer_commit(&tl->w, th->held_len);
  } else {
    cflame__tl_dropped("a flow arrow (out of memory)");
  }
  th->held_len = 0;
}

/* The arrow from place a to place b of span sp. */
static void arrow(tl_t *tl, tspan_t *sp, tend_t *a, tend_t *b) {
  a->next_done = b->prev_done = 1;
  /* Two enters on two threads at once are numbered in either order: no
   * arrow back in time. */
  if (b->ns < a->ns)
    return;
  const tsite_t *s = cflame__tl_site_id(tl, sp->site);
  if (!s) {
    cflame__tl_dropped("a flow arrow (out of memory)");
    return;
  }
  uint64_t id = ++tl->nflows;
  flow_line(tl, "{\"ph\":\"s\"", id, a->tid, a->ns, s->text, s->name_len);
  flow_line(tl, "{\"ph\":\"f\",\"bp\":\"e\"", id, b->tid, b->ns, s->text,
            s->name_len);
}

/* --- places ------------------------------------------------------------------ */

static tend_t *end_of(tspan_t *sp, uint32_t seq) {
  for (uint32_t i = 0; i < sp->nends; i++)
    if (sp->ends[i].seq == seq)
      return &sp->ends[i];
  return NULL;
}

/* Drops the places with both arrows done; frees sp once it is closed and
 * every enter was seen. pp: where sp hangs in the map. */
static void prune(tl_t *tl, tspan_t **pp) {
  tspan_t *sp = *pp;
  uint32_t k = 0;
  for (uint32_t i = 0; i < sp->nends; i++)
    if (!(sp->ends[i].prev_done && sp->ends[i].next_done))
      sp->ends[k++] = sp->ends[i];
  sp->nends = k;
  if (sp->closed && sp->seen >= sp->enters && !sp->nends)
    span_free(tl, pp);
}

static void place(tl_t *tl, tspan_t **pp, uint32_t seq, uint64_t tid,
                  uint64_t ns) {
  tspan_t *sp = *pp;
  if (sp->nends == sp->cap) {
    uint32_t c = sp->cap ? sp->cap * 2 : 4;
    tend_t *e = realloc(sp->ends, c * sizeof *e);
    if (!e) {
      cflame__tl_dropped("a flow arrow (out of memory)");
      return;
    }
    sp->ends = e;
    sp->cap = c;
  }
  tend_t *e = &sp->ends[sp->nends++];
  e->seq = seq;
  e->tid = tid;
  e->ns = ns;
  e->prev_done = seq == 0 || (seq == 1 && !sp->has_e0);
  e->next_done = sp->closed && seq == sp->enters;
  tend_t *o;
  if (seq > 0 && (o = end_of(sp, seq - 1)) != NULL)
    arrow(tl, sp, o, e);
  if ((o = end_of(sp, seq + 1)) != NULL)
    arrow(tl, sp, e, o);
  prune(tl, pp);
}

void cflame__tl_span_enter(tl_t *tl, tthread_t *th, uint64_t id, uint32_t seq,
                           uint64_t ns) {
  tspan_t **pp = find(tl, id);
  if (!pp) /* made before this sink was installed: its slices only */
    return;
  (*pp)->seen++;
  place(tl, pp, seq, th->tid, ns);
}

/* --- notes ------------------------------------------------------------------- */

static void span_new(tl_t *tl, cflame_guard_t *g, const cflame_span_note_t *n) {
  tthread_t *th = n->thread ? cflame__tl_thread(tl, g, n->thread) : NULL;
  const tsite_t *s = cflame__tl_site_id(tl, n->site);
  tspan_t *sp = th && s ? calloc(1, sizeof *sp) : NULL;
  if (sp)
    sp->id = n->id;
  if (!sp || insert(tl, sp) != 0) {
    free(sp);
    cflame__tl_dropped("a registry span (out of memory)");
    return;
  }
  sp->num = ++tl->nspans;
  sp->site = n->site;
  sp->tid = th->tid;
  /* Its thread's records so far were delivered: its time is not before
   * them, and an open slice there is the one it was created in. */
  sp->ns = n->session_ns > th->last ? n->session_ns : th->last;
  line(tl, "{\"ph\":\"b\"", sp->num, sp->tid, sp->ns, s->text, s->len);
  if (th->pending || th->depth) {
    sp->has_e0 = 1;
    place(tl, find(tl, sp->id), 0, th->tid, sp->ns);
  }
}

static void span_close(tl_t *tl, tspan_t **pp, uint32_t site, uint64_t ns) {
  tspan_t *sp = *pp;
  const tsite_t *s = cflame__tl_site_id(tl, site);
  if (!s) /* the name must match its b */
    s = cflame__tl_site_id(tl, sp->site);
  if (s)
    line(tl, "{\"ph\":\"e\"", sp->num, sp->tid, ns > sp->ns ? ns : sp->ns,
         s->text, site == sp->site ? s->name_len : s->len);
  else
    cflame__tl_dropped("the end of a registry span (out of memory)");
}

void cflame__tl_span_note(void *ud, cflame_guard_t *g,
                          const cflame_span_note_t *n) {
  tl_t *tl = ud;
  if (n->kind == CFLAME_SPAN_NEW) {
    span_new(tl, g, n);
    return;
  }
  tspan_t **pp = find(tl, n->id);
  if (n->kind != CFLAME_SPAN_CLOSE || !pp || (*pp)->closed)
    return;
  tspan_t *sp = *pp;
  span_close(tl, pp, n->site, n->session_ns);
  sp->closed = 1;
  sp->enters = n->enters;
  tend_t *last = end_of(sp, n->enters);
  if (last)
    last->next_done = 1;
  prune(tl, pp);
}

void cflame__tl_spans_end(tl_t *tl, int write) {
  uint64_t ns = tl->last_ns;
  for (tthread_t *th = tl->threads; th; th = th->next)
    if (th->last > ns)
      ns = th->last;
  for (size_t i = 0; i < tl->nbuckets; i++)
    while (tl->spans[i]) {
      if (write && !tl->spans[i]->closed)
        span_close(tl, &tl->spans[i], tl->spans[i]->site, ns);
      span_free(tl, &tl->spans[i]);
    }
  free(tl->spans);
  tl->spans = NULL;
  tl->nbuckets = 0;
}
