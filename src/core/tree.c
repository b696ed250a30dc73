/* The call tree of a thread: its nodes, added on first use, and the child
 * lookup behind every enter that leaves the fast path. Owner only; sinks
 * read published nodes (cflame_thread_node). */
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

cflame__node_t *cflame__node_add(cflame__thread_t *t, cflame__node_t *parent,
                                 const cflame_callsite_t *cs, uint32_t id) {
  uint32_t i = t->nnodes;
  int k = cflame__chunk_of(i);
  if (k >= CFLAME__CHUNKS)
    return NULL;
  if (!t->chunks[k]) {
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
    n->next_sibling = parent->first_child;
    parent->first_child = n;
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
    for (c = parent->first_child; c; c = c->next_sibling)
      if (c->cs_id == want)
        break;
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

