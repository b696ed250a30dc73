/* Requests whose tasks move between threads: registry spans keep their
 * ancestry, so a task run on a pool thread shows "pool-N;request;task". */
#define _POSIX_C_SOURCE 200809L /* nanosleep */
#include <cflame.h>

#include <pthread.h>
#include <stdio.h>
#include <time.h>

#define REQUESTS 6
#define TASKS 4
#define POOL 2

static struct {
  pthread_mutex_t lock;
  pthread_cond_t ready;
  cflame_span_t jobs[REQUESTS * TASKS];
  int head, tail, closed;
} queue = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, {{0}}, 0, 0, 0};

static void push(cflame_span_t task) {
  pthread_mutex_lock(&queue.lock);
  queue.jobs[queue.tail++] = task;
  pthread_cond_signal(&queue.ready);
  pthread_mutex_unlock(&queue.lock);
}

static cflame_span_t pop(void) {
  CFLAME_SPAN(wait, "wait_for_task");
  pthread_mutex_lock(&queue.lock);
  while (queue.head == queue.tail && !queue.closed)
    pthread_cond_wait(&queue.ready, &queue.lock);
  cflame_span_t task =
      queue.head < queue.tail ? queue.jobs[queue.head++] : CFLAME_SPAN_NONE;
  pthread_mutex_unlock(&queue.lock);
  CFLAME_SPAN_END(wait);
  return task;
}

static void work(long ms) {
  struct timespec ts = {0, ms * 1000000L};
  nanosleep(&ts, NULL);
}

static void *pool_thread(void *arg) {
  char name[16];
  snprintf(name, sizeof name, "pool-%d", (int)(long)arg);
  cflame_thread_name(name);
  cflame_span_t task;
  while (!cflame_span_is_none(task = pop())) {
    cflame_span_enter(task); /* the stack is request;task, on this thread */
    work(2);
    cflame_span_exit(task);
    cflame_span_close(task);
  }
  return NULL;
}

int main(int argc, char **argv) {
  const char *path = argc > 1 ? argv[1] : "tasks.folded";
  cflame_flame_opts_t o = cflame_flame_opts_default();
  o.fields_in_frame = true; /* request{kind=...} frames */
  cflame_guard_t *guard;
  int rc = cflame_flame_file(path, &o, &guard);
  if (rc < 0) {
    fprintf(stderr, "tasks: %s\n", cflame_strerror(rc));
    return 1;
  }
  pthread_t pool[POOL];
  for (long i = 0; i < POOL; i++)
    pthread_create(&pool[i], NULL, pool_thread, (void *)(i + 1));
  for (int r = 0; r < REQUESTS; r++) {
    const char *kind = r % 2 ? "read" : "write";
    cflame_span_t req = CFLAME_SPAN_NEW("request", CFLAME_STR("kind", kind));
    cflame_span_enter(req);
    work(1); /* parsing the request, on main */
    for (int k = 0; k < TASKS; k++) /* children of req, run elsewhere */
      push(CFLAME_SPAN_NEW_CHILD_OF(req, "task"));
    cflame_span_exit(req);
    cflame_span_close(req); /* the tasks keep their ancestry */
  }
  pthread_mutex_lock(&queue.lock);
  queue.closed = 1;
  pthread_cond_broadcast(&queue.ready);
  pthread_mutex_unlock(&queue.lock);
  for (int i = 0; i < POOL; i++)
    pthread_join(pool[i], NULL);
  if ((rc = cflame_guard_drop(guard)) < 0) {
    fprintf(stderr, "tasks: %s\n", cflame_strerror(rc));
    return 1;
  }
  fprintf(stderr, "tasks: wrote %s\n", path);
  return 0;
}
