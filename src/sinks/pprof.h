/* Private to cflame: the pprof sink's state, shared by pprof.c (samples)
 * and pprof_setup.c (install and teardown). */
#ifndef CFLAME_PPROF_SINK_H
#define CFLAME_PPROF_SINK_H

#include "builtin.h"
#include "cflame/sink.h"
#include "platform.h"
#include "pprof_enc.h"
#include "report.h"

/* Per node of a thread's tree: where its stack starts, and the totals the
 * next profile counts from (at attach; after each flush to a stream). */
typedef struct pnode_s {
  uint64_t from_ticks, from_en; /* counted from; self in ticks */
  uint64_t loc; /* location id of the node's frame; 0 for the root */
  uint32_t parent;
} pnode_t;

typedef struct pthr_s {
  pnode_t *n;
  size_t cap;
  uint32_t known; /* nodes whose parent and loc are set */
} pthr_t;

/* Samples of exited threads, kept for every rewrite of a regular file. */
typedef struct retired_s {
  uint64_t *locs; /* every sample's location ids, back to back */
  size_t nlocs, locs_cap;
  struct rsample_s {
    size_t off;
    uint32_t n, label;
    uint64_t calls, wall;
  } * s;
  size_t ns, s_cap;
  char **labels;
  size_t nlabels, labels_cap;
} retired_t;

typedef struct pprof_s {
  cflame_pprof_opts_t opts;
  cflame__pprof_t *enc;
  int fd, own_fd;
  int64_t rewrite_at; /* offset where a rewritten file starts, or -1 */
  uint64_t clock0;    /* sink clock at attach */
  uint64_t epoch0;    /* CLOCK_REALTIME at attach */
  uint64_t last;      /* sink clock at the previous flush */
  uint64_t *site_loc; /* location id per site id (0: not yet) */
  size_t nsite_loc;
  uint64_t trunc_loc; /* location of the [truncated] frame */
  char *text;         /* scratch: one function name */
  size_t text_cap;
  uint64_t *stack; /* scratch: one sample's location ids */
  size_t stack_cap;
  retired_t retired;
  int oom; /* something was dropped in this flush */
} pprof_t;

/* pprof.c: fills the sink's attach, flush and thread_done callbacks. */
void cflame__pprof_callbacks(cflame_sink_t *vt);
void cflame__pprof_retired_free(retired_t *r);

#endif /* CFLAME_PPROF_SINK_H */
