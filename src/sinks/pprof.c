/* The pprof sink: one complete profile.proto per flush, built from the call
 * trees through the public sink interface and the encoder in src/support.
 * Values per stack are the node's enter count and self time, the numbers
 * the flame sink writes as folded text. */
#include "pprof.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Room for `need` items of `size` bytes in *a (new ones zero). */
static int grow(void **a, size_t *cap, size_t need, size_t size) {
  if (need <= *cap)
    return 0;
  size_t c = *cap ? *cap : 64;
  while (c < need)
    c *= 2;
  char *x = realloc(*a, c * size);
  if (!x)
    return -1;
  memset(x + *cap * size, 0, (c - *cap) * size);
  *a = x;
  *cap = c;
  return 0;
}

/* --- locations ---------------------------------------------------------- */

static int text_put(pprof_t *p, size_t *len, const char *s, size_t n) {
  if (*len + n + 1 > p->text_cap) {
    size_t c = p->text_cap ? p->text_cap : 256;
    while (c < *len + n + 1)
      c *= 2;
    char *t = realloc(p->text, c);
    if (!t)
      return -1;
    p->text = t;
    p->text_cap = c;
  }
  memcpy(p->text + *len, s, n);
  *len += n;
  return 0;
}

/* The location of a site's frame, interned once per site. */
static uint64_t site_location(pprof_t *p, uint32_t site) {
  if (site == CFLAME_SITE_TRUNCATED) {
    if (!p->trunc_loc)
      p->trunc_loc = cflame__pprof_location(
          p->enc, cflame__pprof_function(p->enc, "[truncated]", 11, NULL, 0),
          0);
    return p->trunc_loc;
  }
  if (grow((void **)&p->site_loc, &p->nsite_loc, (size_t)site + 1,
           sizeof *p->site_loc))
    return 0;
  if (p->site_loc[site])
    return p->site_loc[site];
  cflame_site_info_t s;
  size_t len = 0;
  int bad = 0;
  if (cflame_site_info(site, &s) != 0) {
    bad = text_put(p, &len, "[unknown]", 9);
    s.file = "";
    s.line = 0;
  } else {
    if (p->opts.module_path && s.target[0])
      bad |= text_put(p, &len, s.target, strlen(s.target)) |
             text_put(p, &len, "::", 2);
    bad |= text_put(p, &len, s.name, strlen(s.name));
    if (s.fields && p->opts.fields_in_frame)
      bad |= text_put(p, &len, "{", 1) |
             text_put(p, &len, s.fields, s.fields_len) |
             text_put(p, &len, "}", 1);
  }
  if (bad)
    return 0;
  int64_t line = s.line > 0 ? s.line : 0;
  uint64_t fn = cflame__pprof_function(p->enc, p->text, len,
                                       s.file[0] ? s.file : NULL, line);
  return p->site_loc[site] = cflame__pprof_location(p->enc, fn, line);
}

/* --- per-thread state ---------------------------------------------------- */

static pthr_t *pthr(const cflame_thread_t *t, cflame_guard_t *g) {
  void **slot = cflame_thread_data(t, g);
  if (!slot)
    return NULL;
  if (!*slot)
    *slot = calloc(1, sizeof(pthr_t));
  return *slot;
}

/* Room for n nodes, and parent/loc set for all of them (parents come
 * before their children in a tree). */
static int pthr_learn(pprof_t *p, const cflame_thread_t *t, pthr_t *pt,
                      uint32_t n) {
  if (grow((void **)&pt->n, &pt->cap, n, sizeof *pt->n))
    return -1;
  for (; pt->known < n; pt->known++) {
    uint32_t i = pt->known;
    cflame_node_t node;
    if (cflame_thread_node(t, i, &node) != 0)
      return -1;
    pt->n[i].parent = i ? node.parent : 0;
    if (i && !(pt->n[i].loc = site_location(p, node.site)))
      return -1;
  }
  return 0;
}

static void thread_done(void *ud, cflame_guard_t *g, const cflame_thread_t *t,
                        void *data) {
  (void)ud, (void)g, (void)t;
  pthr_t *pt = data;
  free(pt->n);
  free(pt);
}

/* t's node self ticks with cflame's own cost taken out (malloc'd), or NULL:
 * as recorded (compensate off, or out of memory). */
static uint64_t *own_of(const pprof_t *p, const cflame_thread_t *t,
                        uint32_t n) {
  uint64_t *own = p->opts.compensate && n ? malloc(n * sizeof *own) : NULL;
  if (own && cflame_thread_own_ticks(t, own, n) != (int)n) {
    free(own);
    own = NULL;
  }
  return own;
}

static uint64_t self_of(const uint64_t *own, const cflame_node_t *node) {
  if (own)
    return own[node->index];
  return node->self_ticks; /* never below zero: cflame_thread_node */
}

typedef struct visit_s {
  pprof_t *p;
  cflame_guard_t *g;
} visit_t;

/* A sink installed while threads already record counts from now on. */
static int baseline(void *ctx, const cflame_thread_t *t) {
  visit_t *v = ctx;
  pthr_t *pt = pthr(t, v->g);
  uint32_t n = cflame_thread_nodes(t);
  if (!pt || pthr_learn(v->p, t, pt, n) != 0)
    return 0; /* learnt again at the next flush, counted from 0 */
  uint64_t *own = own_of(v->p, t, n);
  for (uint32_t i = 0; i < n; i++) {
    cflame_node_t node;
    if (cflame_thread_node(t, i, &node) == 0) {
      pt->n[i].from_ticks = self_of(own, &node);
      pt->n[i].from_en = node.enters;
    }
  }
  free(own);
  return 0;
}

static void attach(void *ud, cflame_guard_t *g) {
  pprof_t *p = ud;
  p->clock0 = p->last = cflame_sink_clock_ns();
  p->epoch0 = cflame__plat_realtime_ns();
  visit_t v = {p, g};
  (void)cflame_sink_each_thread(g, baseline, &v);
}

/* --- exited threads
 * ------------------------------------------------------------ */

static int retire(retired_t *r, uint32_t label, const uint64_t *loc, uint32_t n,
                  uint64_t calls, uint64_t wall) {
  /* + 1: locs is never NULL, even when every sample has no frames. */
  if (grow((void **)&r->locs, &r->locs_cap, r->nlocs + n + 1,
           sizeof *r->locs) ||
      grow((void **)&r->s, &r->s_cap, r->ns + 1, sizeof *r->s))
    return -1;
  memcpy(r->locs + r->nlocs, loc, n * sizeof *loc);
  r->s[r->ns++] = (struct rsample_s){r->nlocs, n, label, calls, wall};
  r->nlocs += n;
  return 0;
}

void cflame__pprof_retired_free(retired_t *r) {
  for (size_t i = 0; i < r->nlabels; i++)
    free(r->labels[i]);
  free(r->labels);
  free(r->locs);
  free(r->s);
  memset(r, 0, sizeof *r);
}

/* --- flush
 * ----------------------------------------------------------------------- */

static void sample(pprof_t *p, const uint64_t *loc, size_t n, uint64_t calls,
                   uint64_t wall, const char *label) {
  int rc = cflame__pprof_sample(p->enc, loc, n, (int64_t)calls, (int64_t)wall,
                                label);
  if (rc == -ENOMEM || rc == -EINVAL)
    p->oom = 1;
}

static int collect(void *ctx, const cflame_thread_t *t) {
  visit_t *v = ctx;
  pprof_t *p = v->p;
  pthr_t *pt = pthr(t, v->g);
  uint32_t n = cflame_thread_nodes(t);
  if (!pt || pthr_learn(p, t, pt, n) != 0) {
    p->oom = 1;
    return 0;
  }
  cflame_thread_info_t info;
  cflame_thread_info(t, &info);
  int rewrite = p->rewrite_at >= 0;
  uint32_t label = 0;
  if (rewrite && info.exited) { /* its samples outlive it */
    char *copy = malloc(strlen(info.name) + 1);
    retired_t *r = &p->retired;
    if (!copy || grow((void **)&r->labels, &r->labels_cap, r->nlabels + 1,
                      sizeof *r->labels)) {
      free(copy);
      p->oom = 1;
      return 0;
    }
    strcpy(copy, info.name);
    label = (uint32_t)r->nlabels;
    r->labels[r->nlabels++] = copy;
  }
  uint64_t *own = own_of(p, t, n);
  for (uint32_t i = 0; i < n; i++) {
    cflame_node_t node;
    if (cflame_thread_node(t, i, &node) != 0)
      break;
    pnode_t *pn = &pt->n[i];
    uint64_t self = self_of(own, &node);
    uint64_t ns = self > pn->from_ticks ? cflame_sink_ticks_ns(self) -
        cflame_sink_ticks_ns(pn->from_ticks) : 0;
    uint64_t en = node.enters > pn->from_en ? node.enters - pn->from_en : 0;
    if (!rewrite) {
      pn->from_ticks = self > pn->from_ticks ? self : pn->from_ticks;
      pn->from_en = node.enters > pn->from_en ? node.enters : pn->from_en;
    }
    if ((ns == 0 && en == 0) || (i == 0 && !p->opts.empty_samples))
      continue;
    if (grow((void **)&p->stack, &p->stack_cap, (size_t)node.depth + 1,
             sizeof *p->stack)) {
      p->oom = 1;
      continue;
    }
    uint32_t k = 0; /* leaf first, as the format wants */
    for (uint32_t j = i; j != 0 && k <= node.depth; j = pt->n[j].parent)
      p->stack[k++] = pt->n[j].loc;
    if (rewrite && info.exited) {
      if (retire(&p->retired, label, p->stack, k, en, ns) != 0)
        p->oom = 1;
    } else {
      sample(p, p->stack, k, en, ns, info.name);
    }
  }
  free(own);
  return 0;
}

/* A regular file is rewritten whole at every flush: one profile of the run
 * since attach. Elsewhere each flush appends one complete profile of the
 * interval since the previous flush, the unit continuous profilers take. */
static int flush(void *ud, cflame_guard_t *g) {
  pprof_t *p = ud;
  uint64_t now = cflame_sink_clock_ns();
  int rewrite = p->rewrite_at >= 0;
  uint64_t start = rewrite ? p->clock0 : p->last;
  p->last = now;
  p->oom = 0;
  if (rewrite) {
    int e = cflame__plat_truncate(p->fd, p->rewrite_at);
    if (e < 0) {
      cflame__report(CFLAME_FAULT_WRITE, "cannot rewind the output: %s",
                     strerror(-e));
      st_relaxed(&cflame__counters.last_errno, -e);
    }
  }
  cflame__pprof_restart(p->enc);
  visit_t v = {p, g};
  (void)cflame_sink_each_thread(g, collect, &v);
  const retired_t *r = &p->retired;
  for (size_t i = 0; rewrite && i < r->ns; i++)
    sample(p, r->locs + r->s[i].off, r->s[i].n, r->s[i].calls, r->s[i].wall,
           r->labels[r->s[i].label]);
  if (p->oom)
    cflame__report(CFLAME_FAULT_DROPPED,
                   "pprof: out of memory; stacks left out of a profile");
  uint64_t t0 = p->epoch0 + (start - p->clock0);
  int rc = cflame__pprof_finish(p->enc, (int64_t)t0,
                                (int64_t)(now > start ? now - start : 0));
  cflame__pprof_stats_t st;
  cflame__pprof_stats(p->enc, &st);
  fetch_add(&cflame__counters.bytes_written, st.bytes);
  if (rc < 0) {
    st_relaxed(&cflame__counters.last_errno, -rc);
    cflame__report(CFLAME_FAULT_WRITE,
                   "pprof: write failed: %s; the "
                   "profile is cut",
                   strerror(-rc));
    return CFLAME_EIO;
  }
  return 0;
}


void cflame__pprof_callbacks(cflame_sink_t *vt) {
  vt->attach = attach;
  vt->flush = flush;
  vt->thread_done = thread_done;
}
