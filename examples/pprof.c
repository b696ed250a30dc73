/* A small request server profiled into pprof: wall time and call counts
 * per stack, for `go tool pprof`, Pyroscope or Parca. Beside it, the same
 * run as folded stacks, to show that both sinks run at once and agree.
 *
 *   ./pprof [out.pb [out.folded]]     (defaults: pprof.pb, no folded file)
 *   go tool pprof -top out.pb         (or -http=:0 out.pb)
 */
#define _POSIX_C_SOURCE 200809L /* nanosleep */
#include <cflame.h>

#include <pthread.h>
#include <stdio.h>
#include <time.h>

#define WORKERS 2
#define REQUESTS 12

static void sleep_us(long us) {
  struct timespec ts = {0, us * 1000L};
  nanosleep(&ts, NULL);
}

static unsigned parse(int id) {
  CFLAME_FN();
  unsigned h = 2166136261u;
  for (int i = 0; i < 20000 + 1000 * id; i++)
    h = (h ^ (unsigned)i) * 16777619u;
  return h;
}

static void query(int rows) {
  CFLAME_FN();
  for (int r = 0; r < rows; r++) {
    CFLAME_SPAN(fetch, "fetch_row"); /* called many times: see "calls" */
    sleep_us(40);
    CFLAME_SPAN_END(fetch);
  }
}

static void render(void) {
  CFLAME_FN();
  sleep_us(200);
}

static void *worker(void *arg) {
  int n = (int)(size_t)arg;
  char name[32];
  snprintf(name, sizeof name, "worker-%d", n);
  (void)cflame_thread_name(name);
  for (int i = n; i < REQUESTS; i += WORKERS) {
    CFLAME_SPAN(req, "handle_request");
    (void)parse(i);
    query(1 + i % 4);
    render();
    CFLAME_SPAN_END(req);
  }
  return NULL;
}

int main(int argc, char **argv) {
  const char *pb = argc > 1 ? argv[1] : "pprof.pb";
  cflame_guard_t *pg = NULL, *fg = NULL;
  int rc = cflame_pprof_file(pb, NULL, &pg);
  if (rc == 0 && argc > 2)
    rc = cflame_flame_file(argv[2], NULL, &fg);
  if (rc < 0) {
    fprintf(stderr, "pprof: %s\n", cflame_strerror(rc));
    return 1;
  }
  pthread_t t[WORKERS];
  for (int i = 0; i < WORKERS; i++)
    pthread_create(&t[i], NULL, worker, (void *)(size_t)i);
  {
    CFLAME_SPAN(j, "join");
    for (int i = 0; i < WORKERS; i++)
      pthread_join(t[i], NULL);
    CFLAME_SPAN_END(j);
  }
  int e1 = cflame_guard_drop(pg), e2 = cflame_guard_drop(fg);
  if (e1 < 0 || e2 < 0) {
    fprintf(stderr, "pprof: %s\n", cflame_strerror(e1 < 0 ? e1 : e2));
    return 1;
  }
  printf("wrote %s; try: go tool pprof -top %s\n", pb, pb);
  return 0;
}
