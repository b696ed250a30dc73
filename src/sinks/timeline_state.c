/* The timeline sink's bookkeeping: per-thread state and name lines, a cache
 * of each thread's nodes, and each site's name and args as JSON text. */
#include "timeline.h"
#include "platform.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cflame__tl_dropped(const char *what) {
  cflame__report(CFLAME_FAULT_DROPPED, "timeline sink: %s was lost", what);
}

/* --- the sink ------------------------------------------------------------- */

tl_t *cflame__tl_new(const cflame_timeline_opts_t *o) {
  tl_t *tl = calloc(1, sizeof *tl);
  if (!tl)
    return NULL;
  tl->opts = *o;
  const char *name = o->process_name && *o->process_name ? o->process_name
                                                         : "cflame";
  tl->pname_len = strnlen(name, CFLAME__JSON_ARG_STR_MAX);
  tl->pname = malloc(tl->pname_len + 1);
  if (!tl->pname) {
    free(tl);
    return NULL;
  }
  memcpy(tl->pname, name, tl->pname_len);
  tl->pname[tl->pname_len] = '\0';
  tl->opts.process_name = NULL; /* not the caller's pointer past install */
  /* One process per file: its events say pid 1 (6 bytes fewer per event
   * than an OS pid); the OS pid is in the process_name event's args. */
  memcpy(tl->pid, "\"pid\":1", 8);
  tl->pid_len = 7;
  tl->os_pid = (uint64_t)cflame__plat_getpid();
  return tl;
}

size_t cflame__tl_process_line(const tl_t *tl, char *p) {
  static const char a[] = "{\"ph\":\"M\",";
  static const char b[] = ",\"name\":\"process_name\",\"args\":{\"name\":";
  size_t n = 0;
  memcpy(p + n, a, sizeof a - 1);
  n += sizeof a - 1;
  memcpy(p + n, tl->pid, tl->pid_len);
  n += tl->pid_len;
  memcpy(p + n, b, sizeof b - 1);
  n += sizeof b - 1;
  n += cflame__json_str(p + n, tl->pname, tl->pname_len);
  memcpy(p + n, ",\"pid\":", 7);
  n += 7;
  n += cflame__json_u64(p + n, tl->os_pid);
  p[n++] = '}';
  return n;
}

void cflame__tl_thread_free(tl_t *tl, tthread_t *th) {
  if (th->last > tl->last_ns)
    tl->last_ns = th->last;
  for (tthread_t **pp = &tl->threads; *pp; pp = &(*pp)->next)
    if (*pp == th) {
      *pp = th->next;
      break;
    }
  free(th->held);
  free(th->stack);
  free(th->parent);
  free(th->site);
  free(th->text);
  free(th->path);
  free(th);
}

void cflame__tl_free(tl_t *tl) {
  while (tl->threads)
    cflame__tl_thread_free(tl, tl->threads);
  for (uint32_t i = 0; i < tl->nsites; i++)
    free(tl->sites[i].text);
  free(tl->sites);
  free(tl->pname);
  free(tl);
}

/* --- threads --------------------------------------------------------------------- */

/* The thread's name and sort index as metadata events. */
static void name_lines(tl_t *tl, tthread_t *th, uint64_t tid,
                       const char *name) {
  size_t nl = strnlen(name, sizeof th->name - 1);
  memcpy(th->name, name, nl);
  th->name[nl] = '\0';
  char *p = cflame__writer_room(&tl->w, CFLAME__JSON_STR_MAX(nl) + 256);
  if (!p) {
    cflame__tl_dropped("a thread name (out of memory)");
    return;
  }
  int n = snprintf(p, 200, "{\"ph\":\"M\",%s,\"tid\":%llu,"
                           "\"name\":\"thread_name\",\"args\":{\"name\":",
                   tl->pid, (unsigned long long)tid);
  size_t len = (size_t)n + cflame__json_str(p + n, name, nl);
  n = snprintf(p + len, 200, "}},\n{\"ph\":\"M\",%s,\"tid\":%llu,"
                             "\"name\":\"thread_sort_index\","
                             "\"args\":{\"sort_index\":%llu}},\n",
               tl->pid, (unsigned long long)tid, (unsigned long long)tid);
  cflame__writer_commit(&tl->w, len + (size_t)n);
  tl->lines += 2;
}

tthread_t *cflame__tl_thread(tl_t *tl, cflame_guard_t *g,
                             const cflame_thread_t *t) {
  void **slot = cflame_thread_data(t, g);
  if (!slot)
    return NULL;
  tthread_t *th = *slot;
  cflame_thread_info_t info;
  cflame_thread_info(t, &info);
  const char *name = info.name ? info.name : "thread";
  uint64_t tid = (uint64_t)info.number + 1;
  if (!th) {
    th = calloc(1, sizeof *th);
    if (!th) {
      cflame__tl_dropped("a thread (out of memory)");
      return NULL;
    }
    *slot = th;
    th->next = tl->threads;
    tl->threads = th;
    th->tid = tid;
    th->hdr_len = (size_t)snprintf(th->hdr, sizeof th->hdr,
                                   "%s,\"tid\":%llu,\"ts\":", tl->pid,
                                   (unsigned long long)tid);
    th->pre_ts = (size_t)snprintf(th->pre, sizeof th->pre,
                                  "{\"ph\":\"X\",%s", th->hdr);
    name_lines(tl, th, tid, name);
  } else if (strncmp(th->name, name, sizeof th->name - 1) != 0) {
    name_lines(tl, th, tid, name); /* cflame_thread_name since */
  }
  th->t = t;
  return th;
}

int cflame__tl_push(tthread_t *th, uint32_t node) {
  if (th->depth == th->cap) {
    uint32_t c = th->cap ? th->cap * 2 : 32;
    uint32_t *s = realloc(th->stack, c * sizeof *s);
    if (!s)
      return -1;
    th->stack = s;
    th->cap = c;
  }
  th->stack[th->depth++] = node;
  return 0;
}

/* --- nodes ------------------------------------------------------------------------ */

/* Caches nodes up to i; returns 0, or -1 if i is unknown or memory ran out. */
static int know(tthread_t *th, uint32_t i) {
  if (i < th->known)
    return 0;
  if (i >= th->ncap) {
    uint32_t c = th->ncap ? th->ncap : 64;
    while (c <= i)
      c *= 2;
    uint32_t *p = realloc(th->parent, c * sizeof *p);
    if (p)
      th->parent = p;
    uint32_t *s = realloc(th->site, c * sizeof *s);
    if (s)
      th->site = s;
    tsite_t *x = realloc(th->text, c * sizeof *x);
    if (x)
      th->text = x;
    if (!p || !s || !x)
      return -1;
    memset(th->text + th->ncap, 0, (c - th->ncap) * sizeof *x);
    th->ncap = c;
  }
  for (; th->known <= i; th->known++) {
    cflame_node_t node;
    if (cflame_thread_node(th->t, th->known, &node) != 0)
      return -1;
    th->parent[th->known] = node.parent;
    th->site[th->known] = node.site;
  }
  return 0;
}

uint32_t cflame__tl_parent(tl_t *tl, tthread_t *th, uint32_t i) {
  (void)tl;
  return i && know(th, i) == 0 ? th->parent[i] : 0;
}

uint32_t cflame__tl_path(tl_t *tl, tthread_t *th, uint32_t i,
                         uint32_t **out) {
  uint32_t n = 0;
  for (uint32_t j = i; j; j = cflame__tl_parent(tl, th, j)) {
    if (n == th->path_cap) {
      uint32_t c = th->path_cap ? th->path_cap * 2 : 32;
      uint32_t *p = realloc(th->path, c * sizeof *p);
      if (!p)
        break;
      th->path = p;
      th->path_cap = c;
    }
    th->path[n++] = j;
    if (n > (1u << 20)) /* a cycle would be a core bug; never loop forever */
      break;
  }
  for (uint32_t a = 0, b = n ? n - 1 : 0; a < b; a++, b--) {
    uint32_t x = th->path[a];
    th->path[a] = th->path[b];
    th->path[b] = x;
  }
  *out = th->path;
  return n;
}

/* --- sites -------------------------------------------------------------------------- */

static int key_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

/* Where the value that starts at s ends: at the next ", key=" or the end. */
static const char *value_end(const char *s, const char *end) {
  for (const char *p = s; p + 1 < end; p++) {
    if (p[0] != ',' || p[1] != ' ')
      continue;
    const char *k = p + 2;
    while (k < end && key_char(*k))
      k++;
    if (k > p + 2 && k < end && *k == '=')
      return p;
  }
  return end;
}

/* "k=v, k2=v2" (a field variant's text) as ,"args":{"k":"v","k2":"v2"}. */
static size_t put_args(char *p, const char *f, size_t len) {
  const char *s = f, *end = f + len;
  size_t n = 0;
  memcpy(p, ",\"args\":{", 9);
  n = 9;
  while (s < end) {
    const char *eq = memchr(s, '=', (size_t)(end - s));
    const char *v = eq ? eq + 1 : end;
    const char *ve = value_end(v, end);
    if (n > 9)
      p[n++] = ',';
    n += cflame__json_str(p + n, s, (size_t)((eq ? eq : end) - s));
    p[n++] = ':';
    n += cflame__json_str(p + n, v, (size_t)(ve - v));
    s = ve < end ? ve + 2 : end;
  }
  p[n++] = '}';
  return n;
}

static int make_site(tl_t *tl, uint32_t id, tsite_t *out) {
  cflame_site_info_t si;
  const char *name = "[truncated]", *target = "";
  memset(&si, 0, sizeof si);
  if (id != CFLAME_SITE_TRUNCATED && cflame_site_info(id, &si) == 0) {
    name = si.name;
    target = tl->opts.module_path && si.target ? si.target : "";
  } else if (id != CFLAME_SITE_TRUNCATED) {
    name = "[unknown]";
  }
  size_t nl = strlen(name), tlen = strlen(target);
  size_t fl = si.fields ? si.fields_len : 0;
  /* Zeroed, and at least 16 bytes past the text: copied in 16-byte
   * chunks (tl_copy16). */
  char *buf = calloc(1, 16 + nl + tlen + 2 +
                            CFLAME__JSON_STR_MAX(nl + tlen + 2) + 16 +
                            3 * CFLAME__JSON_STR_MAX(fl));
  char *joined = malloc(nl + tlen + 3);
  if (!buf || !joined) {
    free(buf);
    free(joined);
    return -1;
  }
  size_t jl = 0;
  if (tlen) {
    memcpy(joined, target, tlen);
    memcpy(joined + tlen, "::", 2);
    jl = tlen + 2;
  }
  memcpy(joined + jl, name, nl);
  jl += nl;
  size_t n = 0;
  memcpy(buf, ",\"name\":", 8);
  n = 8;
  n += cflame__json_str(buf + n, joined, jl);
  free(joined);
  out->name_len = n;
  if (fl)
    n += put_args(buf + n, si.fields, fl);
  out->text = buf;
  out->len = n;
  return 0;
}

const tsite_t *cflame__tl_site(tl_t *tl, tthread_t *th, uint32_t i) {
  static const char text[32] = ",\"name\":\"[root]\""; /* tl_copy16 */
  static const tsite_t root = {(char *)text, 16, 16};
  if (know(th, i) != 0 || i == 0)
    return &root;
  const tsite_t *s = cflame__tl_site_id(tl, th->site[i]);
  if (!s)
    return NULL;
  th->text[i] = *s; /* the text never moves; the array may */
  return &th->text[i];
}

const tsite_t *cflame__tl_site_id(tl_t *tl, uint32_t id) {
  uint32_t slot = id == CFLAME_SITE_TRUNCATED ? 0 : id; /* 0: no callsite */
  if (slot >= tl->nsites) {
    uint32_t c = tl->nsites ? tl->nsites : 64;
    while (c <= slot)
      c *= 2;
    tsite_t *s = realloc(tl->sites, c * sizeof *s);
    if (!s)
      return NULL;
    memset(s + tl->nsites, 0, (c - tl->nsites) * sizeof *s);
    tl->sites = s;
    tl->nsites = c;
  }
  if (!tl->sites[slot].text && make_site(tl, id, &tl->sites[slot]) != 0)
    return NULL;
  return &tl->sites[slot];
}
