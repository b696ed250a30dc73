/* Names and paths: a thread's current stack as site ids and as
 * "outer:inner{k=v}" text (registry spans' ancestry, events' span context),
 * spans named at run time, and thread names. */
#include "core.h"
#include "sanitize.h"

#include <stdlib.h>
#include <string.h>

size_t cflame__stack_path(const cflame__thread_t *t, uint32_t *ids,
                          size_t max) {
  if (!t || t->session != ld_acquire(&cflame__live))
    return 0;
  size_t n = 0;
  for (cflame__node_t *node = t->top->node; node->index != 0 && n < max;
       node = cflame__node_at(t, node->parent))
    ids[n++] = node->cs_id;
  for (size_t i = 0; i < n / 2; i++) { /* root first */
    uint32_t x = ids[i];
    ids[i] = ids[n - 1 - i];
    ids[n - 1 - i] = x;
  }
  return n;
}

size_t cflame_event_context(char *out, size_t cap) {
  if (!out || cap == 0)
    return 0;
  uint32_t ids[CFLAME_MAX_DEPTH + 1];
  size_t n = cflame__stack_path(cflame__thread_peek(), ids,
                                CFLAME_MAX_DEPTH + 1);
  size_t len = 0;
  for (size_t i = 0; i < n; i++) {
    cflame__site_t *site = cflame__registry_site(ids[i]);
    const char *name = site ? cflame__site_name(site) : "[truncated]";
    if (i > 0)
      len = cflame__put_clamped(out, cap, len, ":", 1);
    len = cflame__put_clamped(out, cap, len, name, strlen(name));
    if (site && site->fields) {
      len = cflame__put_clamped(out, cap, len, "{", 1);
      len = cflame__put_clamped(out, cap, len, site->fields,
                                site->fields_len);
      len = cflame__put_clamped(out, cap, len, "}", 1);
    }
  }
  out[len] = '\0';
  return len;
}

cflame_token_t cflame_scope_enter_dynamic(const char *name, const char *target,
                                          int level) {
  uintptr_t sp = CFLAME__CALLER_SP(), ra = CFLAME__CALLER_RA();
  if (!ld_relaxed(&cflame__live) || level < CFLAME_MAX_LEVEL)
    return 0;
  cflame_callsite_t *cs = cflame__registry_dynamic(name, target, level);
  if (!cs || cflame_callsite_register(cs) != CFLAME_INTEREST_ON)
    return 0;
  return cflame__stack_enter_at(cs, sp, ra);
}

int cflame_thread_name(const char *name) {
  if (!name)
    return CFLAME_EINVAL;
  char buf[CFLAME__NAME_MAX + 1];
  unsigned report = 0;
  size_t n = cflame__sanitize_cstr(buf, sizeof buf, name, CFLAME__SAN_ROOT,
                                   &report);
  if (report)
    cflame__report(CFLAME_FAULT_NAME, "thread name \"%s\" was repaired", buf);
  char *copy = malloc(n + 1);
  if (!copy)
    return CFLAME_ENOMEM;
  memcpy(copy, buf, n + 1);
  cflame__thread_t *t = cflame__thread_self();
  if (!t) {
    free(copy);
    return CFLAME_ENOMEM;
  }
  /* Sinks read other threads' names under the threads lock, never the
   * sink lock: naming a thread must not wait for a flush. */
  pthread_mutex_lock(&cflame__threads_lock);
  char *old = t->name;
  t->name = copy;
  pthread_mutex_unlock(&cflame__threads_lock);
  free(old);
  return 0;
}
