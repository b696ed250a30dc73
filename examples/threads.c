/* A worker pool: four threads pull jobs from one mutex-protected queue.
 * cflame measures wall time, so the flamegraph shows how long each worker
 * waited for the lock, next to the work it did. */
#define _POSIX_C_SOURCE 200809L /* nanosleep */
#include <cflame.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define WORKERS 4
#define JOBS    48

static struct {
  pthread_mutex_t lock;
  int next; /* next job to hand out */
} queue = {PTHREAD_MUTEX_INITIALIZER, 0};

/* Each job writes only its own slot; main reads them after the joins. */
static long results[JOBS];

typedef struct worker_s {
  pthread_t tid;
  int number;
  int rc; /* cflame error seen by this worker, reported by main */
} worker_t;

static void sleep_us(long us) {
  struct timespec ts = {0, us * 1000L};
  nanosleep(&ts, NULL);
}

/* The next job number, or -1 once the queue is empty. The bookkeeping under
 * the lock is slow on purpose, so that the workers contend for it. */
static int take_job(void) {
  CFLAME_SPAN(wait, "lock_wait");
  pthread_mutex_lock(&queue.lock);
  CFLAME_SPAN_END(wait);
  CFLAME_SPAN(held, "dequeue");
  int job = queue.next < JOBS ? queue.next++ : -1;
  sleep_us(150);
  CFLAME_SPAN_END(held);
  pthread_mutex_unlock(&queue.lock);
  return job;
}

static long count_primes(int limit) {
  CFLAME_FN();
  long count = 0;
  for (int n = 2; n < limit; n++) {
    int prime = 1;
    for (int d = 2; d * d <= n && prime; d++)
      prime = n % d != 0;
    count += prime;
  }
  return count;
}

static long run_job(int job) {
  CFLAME_FN();
  long primes = count_primes(5000 + 500 * job);
  CFLAME_SPAN(io, "write_result"); /* stands in for blocking I/O */
  sleep_us(300);
  CFLAME_SPAN_END(io);
  return primes;
}

static void *worker(void *arg) {
  worker_t *w = arg;
  char name[32];
  snprintf(name, sizeof name, "worker-%d", w->number);
  /* The name becomes this thread's root frame; cflame copies it. */
  w->rc = cflame_thread_name(name);
  if (w->rc < 0)
    return NULL;
  for (int job; (job = take_job()) >= 0;)
    results[job] = run_job(job);
  return NULL;
}

static int fail(const char *what, int rc) {
  fprintf(stderr, "threads: %s: %s\n", what, cflame_strerror(rc));
  return 1;
}

int main(int argc, char **argv) {
  const char *path = argc > 1 ? argv[1] : "threads.folded";
  cflame_flame_opts_t opts = cflame_flame_opts_default();
  opts.mode = CFLAME_FLAME_AGGREGATE; /* the default: merged and sorted */
  cflame_guard_t *guard;
  int rc = cflame_flame_file(path, &opts, &guard);
  if (rc < 0)
    return fail("cflame_flame_file", rc);

  worker_t workers[WORKERS];
  for (int i = 0; i < WORKERS; i++) {
    workers[i].number = i + 1;
    workers[i].rc = 0;
    int err = pthread_create(&workers[i].tid, NULL, worker, &workers[i]);
    if (err != 0) {
      fprintf(stderr, "threads: pthread_create: %s\n", strerror(err));
      return 1;
    }
  }
  CFLAME_SPAN(join, "join");
  for (int i = 0; i < WORKERS; i++)
    pthread_join(workers[i].tid, NULL);
  CFLAME_SPAN_END(join);

  for (int i = 0; i < WORKERS; i++)
    if (workers[i].rc < 0)
      return fail("cflame_thread_name", workers[i].rc);
  long total = 0;
  for (int i = 0; i < JOBS; i++)
    total += results[i];
  printf("%d jobs on %d workers, %ld primes counted\n", JOBS, WORKERS, total);
  if ((rc = cflame_guard_drop(guard)) < 0)
    return fail("cflame_guard_drop", rc);
  printf("wrote %s\n", path);
  return 0;
}
