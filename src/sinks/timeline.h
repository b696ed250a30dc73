/* Private to cflame: the timeline sink's state, shared by timeline.c (the
 * sink: slices and events) and timeline_state.c (threads, sites, nodes).
 * Uses only <cflame/sink.h> of the core. */
#ifndef CFLAME_TIMELINE_H
#define CFLAME_TIMELINE_H

#include "cflame/sink.h"
#include "json.h"
#include "report.h"
#include "writer.h"

/* Room for the fields of one event in its args object. */
#define TL_ARGS_MAX 8192

/* A site's name and args, ready to copy: ,"name":"t::n"[,"args":{...}] */
typedef struct tsite_s {
  char *text;
  size_t len;
  size_t name_len; /* of the ,"name":"..." part */
} tsite_t;

/* Per thread (cflame_thread_data). */
typedef struct tthread_s {
  struct tthread_s *next;
  const cflame_thread_t *t; /* valid during the current callback */
  char hdr[64];             /* "pid":P,"tid":T,"ts": */
  size_t hdr_len;
  char name[64];            /* the thread name last written */
  int begun;                /* the first record was seen */
  uint32_t pending;         /* entered, not written yet (0: none) */
  uint64_t pending_ns;
  uint64_t last;            /* latest ts written on this thread */
  uint32_t *stack;          /* nodes of the open B slices, outermost first */
  uint32_t depth, cap;
  uint32_t *parent, *site;  /* node cache: nodes never change */
  tsite_t *text;            /* node i's site text, once looked up */
  uint32_t known, ncap;
  uint64_t ts_us;           /* integer microseconds at the end of pre */
  char pre[64];             /* {"ph":"X","pid":1,"tid":T,"ts":US */
  size_t pre_ts, pre_len;   /* where US starts; 0: not rendered yet */
  uint32_t *path;           /* scratch for cflame__tl_path */
  uint32_t path_cap;
  uint64_t tid;
  int mark;                 /* a CFLAME_RECORD_SPAN names the next ENTER */
  uint32_t mark_seq;
  uint64_t mark_id;
  char *held;               /* flow lines bound to the pending slice: */
  size_t held_len, held_cap; /* written right after it (same ts order) */
} tthread_t;

typedef struct tspan_s tspan_t; /* a registry span (timeline_flow.c) */

typedef struct tl_s {
  cflame_timeline_opts_t opts;
  cflame__writer_t w;
  char pid[40]; /* "pid":1 */
  size_t pid_len;
  uint64_t os_pid; /* in the process_name event */
  char *pname; /* process name */
  size_t pname_len;
  tsite_t *sites; /* by site id, built on first use */
  uint32_t nsites;
  tthread_t *threads;
  uint64_t lines; /* lines written, not yet in the counters */
  tspan_t **spans; /* registry spans by id (chained), nbuckets a power of 2 */
  size_t nbuckets, nspans_live;
  uint64_t nspans, nflows; /* async and flow ids handed out */
  uint64_t last_ns;        /* latest ts of the threads already gone */
} tl_t;

/* timeline_state.c */
tl_t *cflame__tl_new(const cflame_timeline_opts_t *o);
void cflame__tl_free(tl_t *tl);
/* t's state, made (and its name lines written) on first use; writes the
 * name again when it changed. NULL if out of memory. */
tthread_t *cflame__tl_thread(tl_t *tl, cflame_guard_t *g,
                             const cflame_thread_t *t);
void cflame__tl_thread_free(tl_t *tl, tthread_t *th);
/* Pushes node on th's stack of open B slices; -1 if out of memory. */
int cflame__tl_push(tthread_t *th, uint32_t node);
/* The parent of node i (0 for the root or an unknown node). */
uint32_t cflame__tl_parent(tl_t *tl, tthread_t *th, uint32_t i);
/* The nodes from the root's child down to i; returns how many. */
uint32_t cflame__tl_path(tl_t *tl, tthread_t *th, uint32_t i,
                         uint32_t **out);
/* The name and args text of node i's site, or NULL (out of memory). */
const tsite_t *cflame__tl_site(tl_t *tl, tthread_t *th, uint32_t i);
/* {"ph":"M","pid":P,"name":"process_name","args":{"name":N}  (without the
 * event's closing brace); writes at most pid_len + JSON_STR_MAX(pname_len) + 64 bytes. */
size_t cflame__tl_process_line(const tl_t *tl, char *p);
/* Copies n bytes in 16-byte chunks: the source has 16 readable bytes past
 * n (site texts, pre) and the destination room to spare (room() keeps
 * 256). No call for the short texts of the hot path. */
static inline void tl_copy16(char *p, const char *s, size_t n) {
  for (size_t i = 0; i < n; i += 16)
    __builtin_memcpy(p + i, s + i, 16);
}
/* The fast paths of the two above: nodes and texts already cached. */
static inline uint32_t tl_parent(tl_t *tl, tthread_t *th, uint32_t i) {
  return i < th->known ? th->parent[i] : cflame__tl_parent(tl, th, i);
}
static inline const tsite_t *tl_site(tl_t *tl, tthread_t *th, uint32_t i) {
  return i < th->known && th->text[i].text ? &th->text[i]
                                           : cflame__tl_site(tl, th, i);
}
/* The name and args text of site `id` (any thread), or NULL. */
const tsite_t *cflame__tl_site_id(tl_t *tl, uint32_t id);

/* timeline_flow.c: registry spans as async slices and flow arrows. */
/* The `span` callback (sink lock held). */
void cflame__tl_span_note(void *ud, cflame_guard_t *g,
                          const cflame_span_note_t *n);
/* th entered registry span `id` (its enter number seq) at ns. */
void cflame__tl_span_enter(tl_t *tl, tthread_t *th, uint64_t id, uint32_t seq,
                           uint64_t ns);
/* Writes th's held flow lines (its pending slice was just written). */
void cflame__tl_release_held(tl_t *tl, tthread_t *th);
static inline void tl_held(tl_t *tl, tthread_t *th) {
  if (th->held_len)
    cflame__tl_release_held(tl, th);
}
/* At drop: ends the async slices of spans still open (at the latest ts
 * written), and frees them all; write 0 only frees (fork child). Before
 * cflame__tl_free. */
void cflame__tl_spans_end(tl_t *tl, int write);

/* Counts and reports (once) something the file lost. */
void cflame__tl_dropped(const char *what);

#endif /* CFLAME_TIMELINE_H */
