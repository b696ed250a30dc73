/* A timeline of a small server: a pool of threads serves requests, each a
 * registry span that hops between threads (parse on one, respond on
 * whichever is free next), with events, a plot of the queue depth and a
 * frame mark per batch. Open the .json in https://ui.perfetto.dev,
 * chrome://tracing or speedscope. Each request is also an async slice from
 * its creation to its close, and arrows lead from the batch that made it to
 * its parse hop and on to its respond hop (README: "Timeline").
 *
 *   timeline [OUT.json [OUT.folded]]
 *
 * The optional folded file is a flame sink recording the same run: its
 * per-thread sums equal the timeline's per-thread span time. */
#define _POSIX_C_SOURCE 200809L /* nanosleep */
#include <cflame.h>

#include <pthread.h>
#include <stdio.h>
#include <time.h>

#define POOL 4
#define BATCHES 5
#define PER_BATCH 8
#define JOBS (BATCHES * PER_BATCH * 2)

typedef struct job_s {
  cflame_span_t request;
  int id, stage; /* 0: parse, 1: respond */
} job_t;

static struct {
  pthread_mutex_t lock;
  pthread_cond_t ready, idle;
  job_t jobs[JOBS];
  int head, tail, done, closed;
} queue = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
           PTHREAD_COND_INITIALIZER, {{{0}, 0, 0}}, 0, 0, 0, 0};

static void sleep_us(long us) {
  struct timespec ts = {0, us * 1000L};
  nanosleep(&ts, NULL);
}

/* Caller holds the lock. */
static void plot_depth(void) {
  CFLAME_PLOT("queue_depth", queue.tail - queue.head);
}

static void push(job_t j) {
  pthread_mutex_lock(&queue.lock);
  queue.jobs[queue.tail++] = j;
  plot_depth();
  pthread_cond_signal(&queue.ready);
  pthread_mutex_unlock(&queue.lock);
}

static int pop(job_t *j) {
  CFLAME_SPAN(wait, "wait_for_job");
  pthread_mutex_lock(&queue.lock);
  while (queue.head == queue.tail && !queue.closed)
    pthread_cond_wait(&queue.ready, &queue.lock);
  int got = queue.head < queue.tail;
  if (got) {
    *j = queue.jobs[queue.head++];
    plot_depth();
  }
  pthread_mutex_unlock(&queue.lock);
  CFLAME_SPAN_END(wait);
  return got;
}

static void parse(int id) {
  CFLAME_SPAN(s, "parse");
  sleep_us(200 + 50 * (id % 4));
  CFLAME_SPAN_END(s);
}

static void respond(int id) {
  CFLAME_SPAN(s, "respond");
  sleep_us(300);
  if (id % 7 == 3)
    CFLAME_WARN_EV("slow response", CFLAME_I64("id", id),
                   CFLAME_STR("why", "cache miss"));
  CFLAME_SPAN(w, "write");
  sleep_us(100);
  CFLAME_SPAN_END(w);
  CFLAME_SPAN_END(s);
}

static void *pool_thread(void *arg) {
  char name[16];
  snprintf(name, sizeof name, "pool-%d", (int)(long)arg);
  (void)cflame_thread_name(name);
  job_t j;
  while (pop(&j)) {
    cflame_span_enter(j.request); /* this hop of the request */
    if (j.stage == 0) {
      parse(j.id);
      cflame_span_exit(j.request);
      j.stage = 1;
      push(j); /* the rest runs on whichever thread is free */
      continue;
    }
    respond(j.id);
    cflame_span_exit(j.request);
    cflame_span_close(j.request);
    pthread_mutex_lock(&queue.lock);
    queue.done++;
    pthread_cond_signal(&queue.idle);
    pthread_mutex_unlock(&queue.lock);
  }
  return NULL;
}

int main(int argc, char **argv) {
  const char *path = argc > 1 ? argv[1] : "timeline.json";
  cflame_guard_t *timeline = NULL, *flame = NULL;
  int rc = cflame_timeline_file(path, NULL, &timeline);
  if (rc != 0) {
    fprintf(stderr, "timeline: %s: %s\n", path, cflame_strerror(rc));
    return 1;
  }
  if (argc > 2) {
    cflame_flame_opts_t o = cflame_flame_opts_default();
    o.empty_samples = false; /* time outside spans is not on the timeline */
    if ((rc = cflame_flame_file(argv[2], &o, &flame)) != 0) {
      fprintf(stderr, "timeline: %s: %s\n", argv[2], cflame_strerror(rc));
      return 1;
    }
  }
  pthread_t pool[POOL];
  for (long i = 0; i < POOL; i++)
    pthread_create(&pool[i], NULL, pool_thread, (void *)(i + 1));
  int id = 0;
  for (int b = 0; b < BATCHES; b++) {
    CFLAME_SPAN_F(batch, "accept_batch", CFLAME_I64("batch", b));
    for (int i = 0; i < PER_BATCH; i++, id++) {
      job_t j = {CFLAME_SPAN_NEW_ROOT("request", CFLAME_I64("id", id)), id,
                 0};
      push(j);
      sleep_us(100);
    }
    CFLAME_SPAN_END(batch);
    CFLAME_SPAN(wait, "wait_batch");
    pthread_mutex_lock(&queue.lock);
    while (queue.done < id)
      pthread_cond_wait(&queue.idle, &queue.lock);
    pthread_mutex_unlock(&queue.lock);
    CFLAME_SPAN_END(wait);
    CFLAME_FRAME_MARK();
    CFLAME_INFO_EV("batch done", CFLAME_I64("batch", b));
  }
  CFLAME_FRAME_MARK_NAMED("shutdown");
  pthread_mutex_lock(&queue.lock);
  queue.closed = 1;
  pthread_cond_broadcast(&queue.ready);
  pthread_mutex_unlock(&queue.lock);
  for (int i = 0; i < POOL; i++)
    pthread_join(pool[i], NULL);
  rc = cflame_guard_drop(flame);
  int rc2 = cflame_guard_drop(timeline);
  if (rc != 0 || rc2 != 0) {
    fprintf(stderr, "timeline: write error\n");
    return 1;
  }
  printf("wrote %s: open it in https://ui.perfetto.dev\n", path);
  return 0;
}
