/* Private to cflame: registry-span slots (slab.c), used by span.c. */
#ifndef CFLAME_SLAB_H
#define CFLAME_SLAB_H

#include "core.h"

/* Handle = generation (30 bits) << 32 | (slot index + 1): never 0 and below
 * CFLAME__SERIAL_REG, so it fits in a stack frame's serial. */
#define GEN_MASK 0x3fffffffu

typedef struct slot_s {
  uint64_t word;          /* generation << 32 | references (atomic) */
  cflame_callsite_t *cs;
  uint32_t base;          /* registry id of cs */
  uint32_t own;           /* site id for the current fields (0: stale) */
  uint32_t *path;         /* ancestry, root first */
  size_t npath;
  char *fields;           /* "k=v, ..." recorded so far, or NULL */
  size_t fields_len;
  int lock;               /* spin lock for fields/own */
  uint32_t next_free;     /* index + 1 of the next free slot */
  uint32_t enters;        /* a noted span's enters, numbered for span
                             records (atomic); 0 in a free slot */
  int noted;              /* its creation was told to SPANS sinks (then
                             its end is too); 0 in a free slot */
} slot_t;

/* The slot of handle h if it is live, with one more reference; else NULL
 * (reported as use of a closed span, `op` naming the call). */
slot_t *cflame__slab_acquire(uint64_t h, const char *op);
/* Drops one reference of h while it is live; the last one frees the slot.
 * A stale h is reported with `what`. */
void cflame__slab_release(uint64_t h, const char *what);
/* A free slot (its generation kept, references 0) and its index; NULL if
 * out of memory. */
slot_t *cflame__slab_new(uint32_t *index);
void cflame__slot_lock(slot_t *s);
/* Called when s (handle h) lost its last reference, before it is freed
 * (span.c sets it: slab.c calls nothing above it). */
extern void (*cflame__slab_closing)(slot_t *s, uint64_t h);
void cflame__slot_unlock(slot_t *s);
/* fork: taken in prepare, released in both after. */
void cflame__slab_lock_for_fork(void);
void cflame__slab_unlock_after_fork(void);
/* In the fork child: frees the slab lock and every slot's spin lock. */
void cflame__slab_after_fork_child(void);

#endif /* CFLAME_SLAB_H */
