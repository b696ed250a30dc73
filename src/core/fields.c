/* Fields on scoped spans: a span with fields is entered as a field variant
 * of its callsite ("name{k=v}"), and recording fields re-keys the innermost
 * frame. Only while some sink shows fields. */
#include "clock.h"
#include "core.h"

#include <string.h>

/* Site id of `base` carrying `fields`, through a small per-thread cache so
 * that repeated field sets skip the registry lock. */
static uint32_t variant(cflame__thread_t *t, uint32_t base, const char *fields,
                        size_t len) {
  if (len == 0)
    return base;
  uint64_t h = cflame__hash(fields, len, base);
  cflame__vcache_t *c = &t->vcache[h % CFLAME__VCACHE];
  if (c->hash == h && c->base == base) {
    const cflame__site_t *s = cflame__registry_site(c->id);
    if (s && s->fields_len == len && !memcmp(s->fields, fields, len))
      return c->id;
  }
  uint32_t id = cflame__registry_variant(base, fields, len, h);
  c->hash = h;
  c->base = base;
  c->id = id;
  return id;
}

cflame_token_t cflame_scope_enter_f(cflame_callsite_t *cs,
                                    const cflame_field_t *f, size_t n) {
  uintptr_t sp = CFLAME__CALLER_SP(), ra = CFLAME__CALLER_RA();
  if (!ld_relaxed(&cflame__want_fields) || !f || n == 0)
    return cflame__stack_enter_at(cs, sp, ra);
  cflame__thread_t *t = cflame__thread_recording();
  if (!t || !cs)
    return 0;
  uint32_t id = cflame__registry_register(cs);
  if (!id || ld_relaxed(&cs->interest_) != CFLAME_INTEREST_ON)
    return 0;
  char text[CFLAME__FIELDS_MAX];
  size_t len = cflame__fields_format(text, sizeof text, f, n);
  return cflame__stack_enter_id(t, NULL, variant(t, id, text, len),
                                cflame__now(), sp, ra);
}

void cflame_scope_record(cflame_token_t tok, const cflame_field_t *f,
                         size_t n) {
  cflame__thread_t *t = cflame__thread_peek();
  if (!tok || !f || n == 0 || !t ||
      !ld_relaxed(&cflame__want_fields) ||
      t->session != ld_acquire(&cflame__live))
    return;
  uint32_t d = cflame__depth(t);
  if (t->overflow || (t->stack[d].serial & ~CFLAME__SERIAL_NONE) != tok)
    return; /* only the innermost span can change its frame */
  if (!cflame__busy_enter(t))
    return;
  cflame__node_t *node = t->stack[d].node;
  const cflame__site_t *s = cflame__registry_site(node->cs_id);
  if (s) {
    char text[CFLAME__FIELDS_MAX];
    size_t len = 0;
    if (s->fields) {
      len = s->fields_len < sizeof text - 3 ? s->fields_len : sizeof text - 3;
      memcpy(text, s->fields, len);
      text[len++] = ',';
      text[len++] = ' ';
    }
    len += cflame__fields_format(text + len, sizeof text - len, f, n);
    uint32_t id = variant(t, s->base, text, len);
    cflame__node_t *parent = cflame__node_at(t, node->parent);
    uint64_t now = cflame__now();
    cflame__charge(t, node, now);
    cflame__node_t *next = cflame__stack_child(t, parent, NULL, id);
    if (next && next != node) {
      t->stack[d].node = next;
      if (t->stream)
        cflame__record(t, CFLAME_RECORD_SWITCH, next->index, now);
    }
  }
  cflame__busy_leave(t);
}
