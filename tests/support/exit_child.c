/* Helper for test_fork_exit: records spans on three threads into PATH, then
 * ends the process the way MODE says, with spans open everywhere.
 *
 *   cflame-exit-child MODE PATH [stream|timeline]
 *   MODE: return | exit | quick_exit | _exit | thread-exit
 *   stream: use the stream mode (default aggregate); timeline: write a
 *   timeline instead (with the stream mode's burst of spans)
 *
 * Exit status 0 when it got as far as ending the process by MODE; 2 for
 * bad usage, 3 if setup failed or the workers never got going. */
#include <cflame.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int workers_ready[2];
static int main_mid_span;
static int exit_from_worker;

static void sleep_us(long us) {
  struct timespec ts = {us / 1000000, (us % 1000000) * 1000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

/* Spans forever, so that the process ends while both workers are inside
 * spans; worker 1 ends the process itself in thread-exit mode. */
static void *worker(void *arg) {
  int id = (int)(size_t)arg;
  char name[32];
  snprintf(name, sizeof name, "worker-%d", id + 1);
  (void)cflame_thread_name(name);
  for (long i = 0;; i++) {
    CFLAME_SPAN(loop, "loop");
    CFLAME_SPAN(step, "step");
    sleep_us(50);
    if (id == 0 && i >= 100 &&
        __atomic_load_n(&exit_from_worker, __ATOMIC_ACQUIRE) &&
        __atomic_load_n(&main_mid_span, __ATOMIC_ACQUIRE))
      exit(0);
    CFLAME_SPAN_END(step);
    CFLAME_SPAN_END(loop);
    if (i == 100)
      __atomic_store_n(&workers_ready[id], 1, __ATOMIC_RELEASE);
  }
  return NULL;
}

/* Records one span and exits long before the process does: its data
 * waits for the final flush. */
static void *brief(void *arg) {
  (void)arg;
  (void)cflame_thread_name("brief");
  CFLAME_SPAN(once, "once");
  sleep_us(1000);
  CFLAME_SPAN_END(once);
  return NULL;
}

/* Ends the process from two spans deep. */
static void nested_end(const char *mode) {
  CFLAME_SPAN(inner, "inner");
  sleep_us(1000);
  if (!strcmp(mode, "exit"))
    exit(0);
  if (!strcmp(mode, "quick_exit"))
    quick_exit(0);
  if (!strcmp(mode, "_exit"))
    _exit(0);
  CFLAME_SPAN_END(inner);
}

int main(int argc, char **argv) {
  if (argc != 3 && !(argc == 4 && (!strcmp(argv[3], "stream") ||
                                    !strcmp(argv[3], "timeline"))))
    return 2;
  const char *mode = argv[1];
  if (strcmp(mode, "return") && strcmp(mode, "exit") &&
      strcmp(mode, "quick_exit") && strcmp(mode, "_exit") &&
      strcmp(mode, "thread-exit"))
    return 2;
  static cflame_guard_t *guard; /* never dropped: process exit does it */
  cflame_flame_opts_t o = cflame_flame_opts_default();
  if (argc == 4)
    o.mode = CFLAME_FLAME_STREAM;
  if (argc == 4 && !strcmp(argv[3], "timeline")) {
    if (cflame_timeline_file(argv[2], NULL, &guard) != 0)
      return 3;
  } else if (cflame_flame_file(argv[2], &o, &guard) != 0) {
    return 3;
  }
  __atomic_store_n(&exit_from_worker, !strcmp(mode, "thread-exit"),
                   __ATOMIC_RELEASE);
  pthread_t th[2];
  for (int i = 0; i < 2; i++)
    if (pthread_create(&th[i], NULL, worker, (void *)(size_t)i) != 0)
      return 3;
  pthread_t b;
  if (pthread_create(&b, NULL, brief, NULL) != 0 || pthread_join(b, NULL))
    return 3;
  for (int waited = 0; !__atomic_load_n(&workers_ready[0], __ATOMIC_ACQUIRE) ||
                       !__atomic_load_n(&workers_ready[1], __ATOMIC_ACQUIRE);
       waited++) {
    if (waited > 60000)
      return 3;
    sleep_us(1000);
  }
  /* Stream mode: enough slices to fill the main thread's ring many times,
   * so lines reach the file before the end, whatever the end is. */
  for (int i = 0; argc == 4 && i < 20000; i++) {
    CFLAME_SPAN(burst, "burst");
    CFLAME_SPAN_END(burst);
  }
  for (int i = 0; i < 3; i++) { /* complete work spans before the end */
    CFLAME_SPAN(work, "work");
    sleep_us(1000);
    CFLAME_SPAN_END(work);
  }
  CFLAME_SPAN(work, "work");
  sleep_us(1000);
  if (!strcmp(mode, "thread-exit")) {
    __atomic_store_n(&main_mid_span, 1, __ATOMIC_RELEASE);
    for (;;)
      sleep_us(100000);
  }
  nested_end(mode);
  if (!strcmp(mode, "return")) {
    CFLAME_SPAN(inner, "inner");
    sleep_us(1000);
    (void)inner;
    (void)work;
    return 0; /* both spans still open */
  }
  return 4; /* not reached */
}
