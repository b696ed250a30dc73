/* Registry spans: long-lived, reference counted, enterable on any thread;
 * their folded stack is their ancestry (tracing-flame's rule). */
#include "clock.h"
#include "slab.h"

#include <stdlib.h>
#include <string.h>

/* Site id of the span itself, with its fields when a sink shows them. */
static uint32_t own_id(slot_t *s) {
  if (!s->fields_len || !ld_relaxed(&cflame__want_fields))
    return s->base;
  cflame__slot_lock(s);
  if (!s->own)
    s->own = cflame__registry_variant(
        s->base, s->fields, s->fields_len,
        cflame__hash(s->fields, s->fields_len, s->base));
  uint32_t id = s->own;
  cflame__slot_unlock(s);
  return id;
}

static int append_fields(slot_t *s, const cflame_field_t *f, size_t n) {
  char text[CFLAME__FIELDS_MAX];
  size_t len = cflame__fields_format(text, sizeof text, f, n);
  if (!len)
    return 0;
  cflame__slot_lock(s);
  size_t sep = s->fields_len ? 2 : 0;
  size_t total = s->fields_len + sep + len;
  if (total >= CFLAME__FIELDS_MAX) { /* keep the frame bounded */
    cflame__slot_unlock(s);
    cflame__report(CFLAME_FAULT_DROPPED, "span fields longer than %d bytes; "
                                       "later records dropped",
                   CFLAME__FIELDS_MAX);
    return -1;
  }
  char *p = realloc(s->fields, total + 1);
  if (p) {
    if (sep)
      memcpy(p + s->fields_len, ", ", 2);
    memcpy(p + s->fields_len + sep, text, len);
    p[total] = '\0';
    s->fields = p;
    s->fields_len = total;
    s->own = 0;
  }
  cflame__slot_unlock(s);
  return p ? 0 : -1;
}

/* Tells SPANS sinks that span h (slot s) was made or ended. */
static void note(slot_t *s, uint64_t h, uint32_t kind) {
  uint64_t now = cflame__now(); /* before any wait for the lock */
  cflame_span_note_t n;
  memset(&n, 0, sizeof n);
  n.kind = kind;
  n.id = h;
  n.site = own_id(s);
  n.enters = ld_relaxed(&s->enters);
  cflame__sinks_span_note(&n, now);
}

/* cflame__slab_closing: only for spans whose creation was told (a sink
 * never hears of an end without its start). */
static void closing(slot_t *s, uint64_t h) {
  if (ld_relaxed(&cflame__want_notes))
    note(s, h, CFLAME_SPAN_CLOSE);
}

static const cflame_span_t none = {0};

static cflame_span_t span_of(uint64_t handle) {
  cflame_span_t s = {handle};
  return s;
}

/* parent_path: ancestry ids, root first (copied). */
static cflame_span_t create(cflame_callsite_t *cs, const uint32_t *parent_path,
                            size_t n, const cflame_field_t *f, size_t nf) {
  if (!cs)
    return none;
  uint32_t base = cflame__registry_register(cs);
  if (!base || ld_relaxed(&cs->interest_) != CFLAME_INTEREST_ON)
    return none;
  uint32_t *path = NULL;
  if (n) {
    path = malloc(n * sizeof *path);
    if (!path)
      return none;
    memcpy(path, parent_path, n * sizeof *path);
  }
  uint32_t idx;
  slot_t *s = cflame__slab_new(&idx);
  if (!s) {
    free(path);
    return none;
  }
  s->cs = cs;
  s->base = base;
  s->own = 0;
  s->path = path;
  s->npath = n;
  s->fields = NULL;
  s->fields_len = 0;
  if (f && nf)
    (void)append_fields(s, f, nf);
  uint64_t w = ld_relaxed(&s->word);
  uint32_t gen = (uint32_t)(w >> 32);
  uint64_t h = ((uint64_t)gen << 32) | (idx + 1);
  if (ld_relaxed(&cflame__want_notes)) {
    /* Before the handle is out: no record of its enters can come first. */
    (void)cflame__thread_self();
    st_release(&cflame__slab_closing, closing);
    s->noted = 1;
    note(s, h, CFLAME_SPAN_NEW);
  }
  st_release(&s->word, ((uint64_t)gen << 32) | 1u);
  fetch_add(&cflame__counters.spans_live, 1);
  return span_of(h);
}

cflame_span_t cflame_span_new(cflame_callsite_t *cs, const cflame_field_t *f,
                              size_t n) {
  uint32_t path[CFLAME_MAX_DEPTH];
  size_t np = cflame__stack_path(cflame__thread_peek(), path,
                                 CFLAME_MAX_DEPTH - 1);
  return create(cs, path, np, f, n);
}

cflame_span_t cflame_span_new_root(cflame_callsite_t *cs,
                                   const cflame_field_t *f, size_t n) {
  return create(cs, NULL, 0, f, n);
}

cflame_span_t cflame_span_new_child_of(cflame_span_t parent,
                                       cflame_callsite_t *cs,
                                       const cflame_field_t *f, size_t n) {
  if (!parent.id)
    return cflame_span_new_root(cs, f, n);
  slot_t *p = cflame__slab_acquire(parent.id, "new child of");
  if (!p)
    return none;
  uint32_t path[CFLAME_MAX_DEPTH];
  size_t np = p->npath < CFLAME_MAX_DEPTH - 1 ? p->npath : CFLAME_MAX_DEPTH - 2;
  if (np)
    memcpy(path, p->path, np * sizeof *path);
  path[np++] = own_id(p);
  cflame_span_t s = create(cs, path, np, f, n);
  cflame__span_unref(parent.id);
  return s;
}

void cflame_span_enter(cflame_span_t h) {
  uintptr_t sp = CFLAME__CALLER_SP();
  if (!h.id)
    return;
  slot_t *s = cflame__slab_acquire(h.id, "enter");
  if (!s)
    return;
  uint32_t ids[CFLAME_MAX_DEPTH + 1];
  size_t n = s->npath;
  if (n)
    memcpy(ids, s->path, n * sizeof *ids);
  ids[n++] = own_id(s);
  /* The reference is kept by the frame until its exit. */
  if (cflame__stack_enter_path(ids, n, h.id, sp,
                               s->noted ? &s->enters : NULL) != 0)
    cflame__span_unref(h.id);
}

void cflame_span_exit(cflame_span_t h) {
  if (!h.id)
    return;
  if (cflame__stack_exit_handle(h.id) != 0) {
    slot_t *s = cflame__slab_acquire(h.id, "exit");
    if (!s)
      return;
    cflame__report(CFLAME_FAULT_STALE_EXIT,
                   "exit of a registry span not entered on this thread; "
                   "ignored");
    cflame__span_unref(h.id);
  }
}

void cflame_span_record(cflame_span_t h, const cflame_field_t *f, size_t n) {
  if (!h.id || !f || !n)
    return;
  slot_t *s = cflame__slab_acquire(h.id, "record");
  if (!s)
    return;
  (void)append_fields(s, f, n);
  cflame__span_unref(h.id);
}

cflame_span_t cflame_span_clone(cflame_span_t h) {
  if (!h.id)
    return none;
  return cflame__slab_acquire(h.id, "clone") ? h : none;
}

void cflame_span_close(cflame_span_t h) {
  if (h.id)
    cflame__slab_release(h.id, "close on a closed or invalid span handle");
}
