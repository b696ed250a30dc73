/* Folded text for the flame sink: frame and stack texts (built once, then
 * reused), lines written straight into the writer's buffer, and the sorted
 * batches of aggregate flushes. */
#include "flame.h"
#include "sort.h"

#include <stdlib.h>
#include <string.h>

/* --- small buffers ----------------------------------------------------- */

/* Room for n more bytes (and a NUL); 0, or -1 with oom set. */
static int sb_reserve(strbuf_t *b, size_t n) {
  if (b->len + n + 1 <= b->cap)
    return 0;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < b->len + n + 1)
    cap *= 2;
  char *p = realloc(b->p, cap);
  if (!p) {
    b->oom = 1;
    return -1;
  }
  b->p = p;
  b->cap = cap;
  return 0;
}

void cflame__sb_put(strbuf_t *b, const char *s, size_t n) {
  if (sb_reserve(b, n) != 0)
    return;
  memcpy(b->p + b->len, s, n);
  b->len += n;
}

void cflame__sb_free(strbuf_t *b) {
  free(b->p);
  memset(b, 0, sizeof *b);
}

size_t cflame__u64_dec(char *out, uint64_t v) {
  char tmp[20];
  size_t n = cflame__dec_back(tmp + sizeof tmp, v);
  memcpy(out, tmp + sizeof tmp - n, n);
  return n;
}

/* --- frame text -------------------------------------------------------- */

static const char truncated_frame[] = "[truncated]";

/* The frame of a site under this sink's options, built once. */
static void put_frame(flame_t *f, strbuf_t *b, uint32_t id) {
  if (id == CFLAME_SITE_TRUNCATED) {
    cflame__sb_put(b, truncated_frame, sizeof truncated_frame - 1);
    return;
  }
  cflame_site_info_t s;
  if (cflame_site_info(id, &s) != 0) {
    cflame__sb_put(b, "[unknown]", 9);
    return;
  }
  if (id >= f->nframes) {
    size_t n = f->nframes ? f->nframes : 256;
    while (n <= id)
      n *= 2;
    frame_t *fr = realloc(f->frames, n * sizeof *fr);
    if (!fr) {
      cflame__sb_put(b, s.name, strlen(s.name));
      return;
    }
    memset(fr + f->nframes, 0, (n - f->nframes) * sizeof *fr);
    f->frames = fr;
    f->nframes = n;
  }
  frame_t *fr = &f->frames[id];
  if (!fr->p) {
    strbuf_t t = {0};
    if (f->opts.module_path && s.target[0]) {
      cflame__sb_put(&t, s.target, strlen(s.target));
      cflame__sb_put(&t, "::", 2);
    }
    cflame__sb_put(&t, s.name, strlen(s.name));
    if (s.fields && f->opts.fields_in_frame) {
      cflame__sb_put(&t, "{", 1);
      cflame__sb_put(&t, s.fields, s.fields_len);
      cflame__sb_put(&t, "}", 1);
    }
    if (f->opts.file_and_line) {
      char num[24];
      cflame__sb_put(&t, ":", 1);
      cflame__sb_put(&t, s.file, strlen(s.file));
      cflame__sb_put(&t, ":", 1);
      cflame__sb_put(&t, num,
                     cflame__u64_dec(num, (uint64_t)(s.line < 0 ? 0 : s.line)));
    }
    if (t.oom) {
      cflame__sb_free(&t);
      cflame__sb_put(b, s.name, strlen(s.name));
      return;
    }
    fr->p = t.p;
    fr->len = t.len;
  }
  cflame__sb_put(b, fr->p, fr->len);
}

void cflame__flame_frames_free(flame_t *f) {
  for (size_t i = 0; i < f->nframes; i++)
    free(f->frames[i].p);
  free(f->frames);
  f->frames = NULL;
  f->nframes = 0;
}

/* --- stack text --------------------------------------------------------- */

static const char *root_of(const flame_t *f, const cflame_thread_t *t) {
  if (f->opts.threads_collapsed)
    return "all-threads";
  cflame_thread_info_t info;
  cflame_thread_info(t, &info);
  return info.name;
}

void cflame__flame_text_free(text_t *x) {
  free(x->buf);
  free(x->off);
  free(x->n);
  free(x->root);
  memset(x, 0, sizeof *x);
}

/* A rename of the thread rebuilds its cache. */
void cflame__flame_text_check(flame_t *f, const cflame_thread_t *t,
                              fthread_t *ft) {
  text_t *x = &ft->text;
  const char *root = root_of(f, t);
  if (cflame_likely(x->root && strcmp(x->root, root) == 0))
    return;
  size_t n = strlen(root);
  char *copy = malloc(n + 1);
  free(x->root);
  x->root = copy;
  if (copy)
    memcpy(copy, root, n + 1);
  x->count = 0;
  x->len = 0;
}

int cflame__flame_text_build(flame_t *f, const cflame_thread_t *t, text_t *x,
                             uint32_t index) {
  while (x->count <= index) {
    uint32_t i = x->count;
    if (i == x->cap_nodes) {
      uint32_t c = x->cap_nodes ? x->cap_nodes * 2 : 64;
      uint32_t *off = realloc(x->off, c * sizeof *off);
      if (off)
        x->off = off;
      uint32_t *n = realloc(x->n, c * sizeof *n);
      if (n)
        x->n = n;
      if (!off || !n)
        return -1;
      x->cap_nodes = c;
    }
    strbuf_t b = {x->buf, x->len, x->cap, 0};
    size_t start = b.len;
    cflame_node_t node;
    if (cflame_thread_node(t, i, &node) != 0 || !x->root)
      return -1;
    if (i > 0) {
      /* The parent's text moves if b grows: reserve, then copy by offset. */
      size_t plen = x->n[node.parent];
      if (sb_reserve(&b, plen) == 0) {
        memcpy(b.p + b.len, b.p + x->off[node.parent], plen);
        b.len += plen;
        cflame__sb_put(&b, ";", 1);
        put_frame(f, &b, node.site);
      }
    } else {
      cflame__sb_put(&b, x->root, strlen(x->root));
    }
    /* 8 bytes of slack after the text, for cflame__flame_line's word
     * copies. */
    int bad = b.oom || sb_reserve(&b, 8) != 0 || b.len > UINT32_MAX;
    x->buf = b.p; /* it may have moved even if something failed */
    x->cap = b.cap;
    if (bad)
      return -1;
    x->off[i] = (uint32_t)start;
    x->n[i] = (uint32_t)(b.len - start);
    x->len = b.len;
    x->count = i + 1;
  }
  return 0;
}

/* --- lines ----------------------------------------------------------------- */

/* --- batches (aggregate mode) ------------------------------------------------ */

entry_t *cflame__batch_slot(batch_t *b) {
  if (b->n == b->cap) {
    size_t c = b->cap ? b->cap * 2 : 256;
    entry_t *e = realloc(b->e, c * sizeof *e);
    if (!e) {
      b->text.oom = 1;
      return NULL;
    }
    b->e = e;
    b->cap = c;
  }
  return &b->e[b->n];
}

int cflame__batch_add(batch_t *b, const char *stack, size_t len,
                      uint64_t ns) {
  entry_t *e = cflame__batch_slot(b);
  if (!e || sb_reserve(&b->text, len) != 0)
    return -1; /* nothing added: an entry never points past the text */
  *e = (entry_t){NULL, b->text.len, len, ns};
  cflame__sb_put(&b->text, stack, len);
  b->n++;
  return 0;
}

int cflame__batch_ref(batch_t *b, char *const *base, size_t off, size_t len,
                      uint64_t ns) {
  entry_t *e = cflame__batch_slot(b);
  if (!e)
    return -1;
  *e = (entry_t){base, off, len, ns};
  b->n++;
  return 0;
}

void cflame__batch_clear(batch_t *b) {
  b->text.len = 0;
  b->text.oom = 0;
  b->n = 0;
}

void cflame__batch_free(batch_t *b) {
  cflame__sb_free(&b->text);
  free(b->e);
  memset(b, 0, sizeof *b);
}

/* own: the batch's own text, for entries without a base. */
static const char *entry_text(const entry_t *e, const char *own) {
  return (e->base ? *e->base : own) + e->off;
}

static int entry_cmp(const void *a, const void *b, void *own) {
  const entry_t *x = a, *y = b;
  size_t n = x->len < y->len ? x->len : y->len;
  int c = memcmp(entry_text(x, own), entry_text(y, own), n);
  if (c)
    return c;
  return (x->len > y->len) - (x->len < y->len);
}

/* In place: equal stacks become their first entry, the text stays where it
 * is, and the sort allocates nothing: a flush's memory beyond what the sink
 * keeps is the index itself (no second copy of the stacks or of the index,
 * and nothing to fail). */
void cflame__batch_merge(batch_t *b) {
  if (b->n == 0)
    return;
  cflame__sort(b->e, b->n, sizeof *b->e, entry_cmp, b->text.p);
  size_t out = 0;
  for (size_t i = 0; i < b->n;) {
    uint64_t ns = 0;
    size_t j = i;
    for (; j < b->n && entry_cmp(&b->e[i], &b->e[j], b->text.p) == 0; j++)
      ns = ns + b->e[j].ns > COUNT_MAX ? COUNT_MAX : ns + b->e[j].ns;
    b->e[out] = b->e[i];
    b->e[out++].ns = ns;
    i = j;
  }
  b->n = out;
}

void cflame__batch_compact(batch_t *b) {
  size_t live = 0;
  for (size_t i = 0; i < b->n; i++)
    live += b->e[i].len;
  if (b->text.len <= 2 * live + 4096)
    return;
  batch_t m = {0};
  for (size_t i = 0; i < b->n; i++)
    if (cflame__batch_add(&m, cflame__batch_text(b, i), b->e[i].len,
                          b->e[i].ns) != 0) {
      cflame__batch_free(&m); /* keep the old one: still right */
      return;
    }
  cflame__batch_free(b);
  *b = m;
}

void cflame__batch_write(flame_t *f, const batch_t *b) {
  for (size_t i = 0; i < b->n; i++) {
    uint64_t ns = cflame__flame_admit(f, b->e[i].ns);
    if (ns)
      cflame__flame_line(f, cflame__batch_text(b, i), b->e[i].len, ns, 0);
  }
}
