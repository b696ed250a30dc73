/* A sink of your own, using only the public sink API: at exit it prints
 * the 10 stacks with the most self time, with their enter counts, to
 * stderr -- the question "which tiny spans run millions of times?". */
#include <cflame.h>
#include <cflame/sink.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOP 10

typedef struct row_s {
  char stack[256];
  uint64_t self_ns, enters;
} row_t;

typedef struct top_s {
  row_t rows[TOP];
  int n;
} top_t;

/* "thread;a;b" of node i, built from its parents. */
static void stack_text(const cflame_thread_t *t, uint32_t i, char *out,
                       size_t cap) {
  uint32_t path[64];
  size_t n = 0;
  cflame_node_t node;
  while (i != 0 && n < 64 && cflame_thread_node(t, i, &node) == 0) {
    path[n++] = node.site;
    i = node.parent;
  }
  cflame_thread_info_t info;
  cflame_thread_info(t, &info);
  size_t len = (size_t)snprintf(out, cap, "%s", info.name);
  while (n-- > 0 && len < cap) {
    cflame_site_info_t s;
    const char *name =
        cflame_site_info(path[n], &s) == 0 ? s.name : "[truncated]";
    len += (size_t)snprintf(out + len, cap - len, ";%s", name);
  }
}

static void keep(top_t *top, const cflame_thread_t *t, uint32_t i,
                 const cflame_node_t *node) {
  int at = top->n < TOP ? top->n++ : TOP - 1;
  if (at == TOP - 1 && top->rows[at].self_ns >= node->self_ns)
    return;
  while (at > 0 && top->rows[at - 1].self_ns < node->self_ns) {
    top->rows[at] = top->rows[at - 1];
    at--;
  }
  stack_text(t, i, top->rows[at].stack, sizeof top->rows[at].stack);
  top->rows[at].self_ns = node->self_ns;
  top->rows[at].enters = node->enters;
}

static int visit(void *ctx, const cflame_thread_t *t) {
  for (uint32_t i = 1; i < cflame_thread_nodes(t); i++) {
    cflame_node_t node;
    if (cflame_thread_node(t, i, &node) == 0 && node.self_ns > 0)
      keep(ctx, t, i, &node);
  }
  return 0;
}

/* Called at every flush; the last one (at drop or exit) has it all. */
static int flush(void *ud, cflame_guard_t *g) {
  top_t *top = ud;
  top->n = 0;
  return cflame_sink_each_thread(g, visit, top);
}

static int close_top(void *ud, cflame_guard_t *g) {
  (void)g;
  top_t *top = ud;
  fprintf(stderr, "%12s %10s  stack (top %d by self time)\n", "self ns",
          "enters", TOP);
  for (int i = 0; i < top->n; i++)
    fprintf(stderr, "%12llu %10llu  %s\n",
            (unsigned long long)top->rows[i].self_ns,
            (unsigned long long)top->rows[i].enters, top->rows[i].stack);
  free(top);
  return 0;
}

static void forked(void *ud, cflame_guard_t *g) {
  (void)g;
  free(ud); /* the parent prints; the child stays quiet */
}

/* Installs the top-10 sink; its guard is dropped at exit if not before. */
static int top_install(cflame_guard_t **out) {
  static const cflame_sink_t vt = {
      .size = sizeof(cflame_sink_t),
      .needs = CFLAME_SINK_TREES,
      .name = "top10",
      .flush = flush,
      .close = close_top,
      .forked = forked,
  };
  top_t *top = calloc(1, sizeof *top);
  if (!top)
    return CFLAME_ENOMEM;
  int rc = cflame_sink_install(&vt, top, out);
  if (rc < 0)
    free(top);
  return rc;
}

/* --- a program to look at --------------------------------------------------- */

static unsigned tiny(unsigned x) {
  CFLAME_SPAN(s, "tiny");
  x = x * 2654435761u + 1;
  CFLAME_SPAN_END(s);
  return x;
}

static unsigned work(unsigned x) {
  CFLAME_SPAN(s, "work");
  for (int i = 0; i < 200; i++)
    x = tiny(x);
  CFLAME_SPAN_END(s);
  return x;
}

int main(int argc, char **argv) {
  cflame_guard_t *flame, *top;
  const char *path = argc > 1 ? argv[1] : "custom_sink.folded";
  int rc = cflame_flame_file(path, NULL, &flame);
  if (rc < 0 || (rc = top_install(&top)) < 0) {
    fprintf(stderr, "custom_sink: setup: %s\n", cflame_strerror(rc));
    return 1;
  }
  unsigned x = 1;
  for (int i = 0; i < 2000; i++)
    x = work(x);
  printf("checksum %u\n", x);
  rc = cflame_guard_drop(top) < 0 || cflame_guard_drop(flame) < 0;
  fprintf(stderr, "custom_sink: wrote %s\n", path);
  return rc;
}
