/* The call tree of a thread: its nodes, added on first use, and the child
 * lookup behind every enter that leaves the fast path (a direct-mapped
 * cache, then an index of every node by parent and site, so that a node with
 * thousands of children finds or adds one in constant time). Owner only;
 * sinks read published nodes (cflame_thread_node). */
#include "core.h"

#include <stdlib.h>
#include <string.h>

/* What a node's child cache and hint hold before its first child. Its
 * callsite is itself, which no span passes, not even a NULL callsite: the
 * fast paths need no NULL check. */
cflame__node_t cflame__no_child = {
    .cs = (const cflame_callsite_t *)(const void *)&cflame__no_child,
    .cache = &cflame__no_child,
    .hint = &cflame__no_child};
#define no_child cflame__no_child

/* --- the node index: (parent, site id) -> node ------------------------------ */

static size_t nidx_hash(uint32_t parent, uint32_t id) {
  uint64_t k = ((uint64_t)parent << 32 | id) * UINT64_C(0x9E3779B97F4A7C15);
  return (size_t)(k >> 32);
}

static void nidx_put(uint32_t *tab, size_t mask, const cflame__node_t *n) {
  size_t h = nidx_hash(n->parent, n->cs_id) & mask;
  while (tab[h])
    h = (h + 1) & mask;
  tab[h] = n->index;
}

int cflame__node_index_reserve(cflame__thread_t *t, int k) {
  /* Chunks 0..k hold fewer than CHUNK0 << (k + 1) nodes: load <= 1/2. */
  size_t cap = (size_t)CFLAME__CHUNK0 << (k + 2);
  if (t->nidx && t->nidx_mask + 1 >= cap)
    return 0;
  uint32_t *tab = calloc(cap, sizeof *tab);
  if (!tab)
    return -1;
  for (uint32_t i = 1; i < t->nnodes; i++)
    nidx_put(tab, cap - 1, cflame__node_at(t, i));
  /* The old index is freed only once the new one is in place: a fork in
   * between leaves the child's copy of this thread (which the child only
   * frees) pointing to memory that is still allocated. */
  uint32_t *old = t->nidx;
  t->nidx_mask = cap - 1;
  t->nidx = tab;
  free(old);
  return 0;
}

void cflame__node_index_clear(cflame__thread_t *t) {
  memset(t->nidx, 0, (t->nidx_mask + 1) * sizeof *t->nidx);
}

/* The child of parent for site id, or NULL if it has none. */
static cflame__node_t *nidx_find(cflame__thread_t *t,
                                 const cflame__node_t *parent, uint32_t id) {
  for (size_t h = nidx_hash(parent->index, id) & t->nidx_mask; t->nidx[h];
       h = (h + 1) & t->nidx_mask) {
    cflame__node_t *n = cflame__node_at(t, t->nidx[h]);
    if (n->parent == parent->index && n->cs_id == id)
      return n;
  }
  return NULL;
}

/* --- nodes ------------------------------------------------------------------ */

cflame__node_t *cflame__node_add(cflame__thread_t *t, cflame__node_t *parent,
                                 const cflame_callsite_t *cs, uint32_t id) {
  uint32_t i = t->nnodes;
  int k = cflame__chunk_of(i);
  if (k >= CFLAME__CHUNKS)
    return NULL;
  if (!t->chunks[k]) {
    /* The index grows with the chunks, so that a session that reuses them
     * allocates nothing (a span in a signal handler must not). */
    if (cflame__node_index_reserve(t, k) != 0)
      return NULL;
    t->chunks[k] = calloc((size_t)CFLAME__CHUNK0 << k, sizeof(cflame__node_t));
    if (!t->chunks[k])
      return NULL;
  }
  cflame__node_t *n = cflame__node_at(t, i);
  memset(n, 0, sizeof *n);
  n->cache = &no_child;
  n->hint = &no_child;
  n->cs = cs;
  n->cs_id = id;
  n->index = i;
  n->fn = cs ? CFLAME__CS_FN(cs) : 0;
  n->fn_len = n->fn ? CFLAME__CS_FN_LEN(cs) : UINTPTR_MAX;
  if (parent) {
    n->depth = parent->depth + 1;
    n->parent = parent->index;
    nidx_put(t->nidx, t->nidx_mask, n);
  }
  st_release(&t->nnodes, i + 1); /* sinks may read it from now on */
  return n;
}

/* The child of parent for site `id` (cs: its callsite, NULL for variants),
 * added on first use. Below CFLAME_MAX_DEPTH frames everything is charged to
 * one [truncated] node. */
cflame__node_t *cflame__stack_child(cflame__thread_t *t, cflame__node_t *parent,
                                    const cflame_callsite_t *cs, uint32_t id) {
  if (parent->cs_id == CFLAME_SITE_TRUNCATED)
    return parent;
  cflame__ctab_t *e = cflame__ctab_at(t->ctab, parent, id);
  cflame__node_t *c = NULL;
  if (e->parent == parent && e->id == id) {
    c = e->child;
  } else {
    uint32_t want = id;
    if (parent->depth + 1 >= CFLAME_MAX_DEPTH) {
      cs = NULL;
      want = CFLAME_SITE_TRUNCATED;
    }
    c = nidx_find(t, parent, want);
    if (!c) {
      c = cflame__node_add(t, parent, cs, want);
      if (c && want == CFLAME_SITE_TRUNCATED)
        cflame__report(CFLAME_FAULT_DEPTH,
                       "stack deeper than %d frames; deeper ones are charged "
                       "to [truncated]",
                       CFLAME_MAX_DEPTH - 1);
    }
    if (!c)
      return NULL;
    e->parent = parent;
    e->id = id;
    e->child = c;
  }
  /* A child with its parent's callsite (recursion) is never cached: its
   * enters take enter_miss, which tells recursion from a stale frame of a
   * jumped-over activation at the same stack depth. Nor are field variants
   * and [truncated] (no callsite): only slow paths enter them, and a
   * NULL callsite must never match a cache. */
  if (!c->cs || c->cs == parent->cs)
    return c;
  cflame__node_t *last = parent->cache;
  if (last != &cflame__no_child)
    last->hint = c;
  parent->cache = c;
  return c;
}

