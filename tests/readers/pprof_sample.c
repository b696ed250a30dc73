/* cflame-pprof-sample PROFILE EXPECTED: writes a profile of known stacks
 * with the pprof encoder, and the totals any reader must find in it as
 * lines "thread;root;...;leaf<TAB>calls<TAB>wall" (one per sample, not yet
 * merged; samples without a thread label have thread "[no thread]").
 * Used by the real-reader tests (go tool pprof, npm pprof-format). */
#include "pprof_enc.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

typedef struct {
  const char *name, *file;
  int line;
} frame_t;

static FILE *expected;
static cflame__pprof_t *enc;
static int failed;

static long file_write(void *ctx, const void *buf, size_t len) {
  size_t n = fwrite(buf, 1, len, ctx);
  return n ? (long)n : -EIO;
}

/* One sample of the stack f[0..n) (root first). */
static void sample(const char *thread, const frame_t *f, size_t n,
                   long long calls, long long wall) {
  uint64_t loc[64];
  fprintf(expected, "%s", thread ? thread : "[no thread]");
  for (size_t i = 0; i < n; i++) {
    uint64_t fn = cflame__pprof_function(enc, f[i].name, strlen(f[i].name),
                                         f[i].file, f[i].line);
    loc[n - 1 - i] = cflame__pprof_location(enc, fn, f[i].line);
    fprintf(expected, ";%s", f[i].name);
  }
  fprintf(expected, "\t%lld\t%lld\n", calls, wall);
  if (cflame__pprof_sample(enc, loc, n, calls, wall, thread))
    failed = 1;
}

#define S(thread, calls, wall, ...)                                            \
  do {                                                                         \
    const frame_t f_[] = {__VA_ARGS__};                                        \
    sample(thread, f_, sizeof f_ / sizeof f_[0], calls, wall);                 \
  } while (0)

int main(int argc, char **argv) {
  const frame_t mn = {"main", NULL, 0}, a = {"net::a", NULL, 0},
                b = {"net::b", NULL, 0}, c = {"db::c", "src/db.c", 12},
                c2 = {"db::c", "src/db.c", 40},
                q = {"say \"hi\" \\ caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\xa5 "
                     "{k=v, n=1} <T>&",
                     NULL, 0};
  if (argc != 3) {
    fputs("usage: cflame-pprof-sample PROFILE EXPECTED\n", stderr);
    return 2;
  }
  FILE *out = fopen(argv[1], "wb");
  expected = fopen(argv[2], "w");
  if (!out || !expected || !(enc = cflame__pprof_open(file_write, out))) {
    perror("cflame-pprof-sample");
    return 2;
  }
  S("main", 1, 7, mn);
  S("main", 3, 1000, mn, a);
  S("main", 2, 200, mn, a, b);
  S("main", 1, 50, mn, a, b, a); /* recursion */
  S("main", 4, 30, mn, c);       /* file and line */
  S("main", 1, 5, mn, a, c2);    /* same function, another line */
  S("worker 1", 2, 900, mn, a, q);
  S("main", 1, 1, mn, a); /* merged with the one above by readers */
  S(NULL, 1, 3, mn, b);
  /* Enough distinct stacks to pass through the output buffer many times. */
  for (int i = 0; i < 3000; i++) {
    char names[16][32];
    frame_t f[16];
    size_t n = 3 + (size_t)(i % 12);
    for (size_t d = 0; d < n; d++) {
      snprintf(names[d], sizeof names[d], "mod%zu::fn_%d", d,
               (i >> (d % 8)) % 7);
      f[d] = (frame_t){names[d], d % 3 ? NULL : "src/gen.c", (int)d};
    }
    char thread[16];
    snprintf(thread, sizeof thread, "pool-%d", i % 3);
    sample(thread, f, n, i % 5 + 1, (long long)i * 1000 + 7);
  }
  int rc = cflame__pprof_finish(enc, 1700000000000000000, 123456789);
  cflame__pprof_close(enc);
  if (fclose(out) || fclose(expected) || rc || failed) {
    fprintf(stderr, "cflame-pprof-sample: write failed (%d)\n", rc);
    return 1;
  }
  return 0;
}
