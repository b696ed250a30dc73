/* Plugins and dlclose (issue 14): code that owns callsites is unloaded
 * while cflame lives on; cflame itself (shared, or a static copy in a
 * plugin) is unloaded while a thread that recorded spans still runs; two
 * static copies in one process both want CFLAME_FLAME. This program links
 * no cflame: it reaches it only through the plugins (support/plugin.c).
 * Each case runs in a child: the failures are crashes. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "child.h"
#include "files.h"

static char dir[64];
static char path[128];

static int setup(void **state) {
  (void)state;
  if (tmpdir_make(dir, sizeof dir, "plug") != 0)
    return -1;
  snprintf(path, sizeof path, "%s/out", dir);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  return tmpdir_remove(dir);
}

#define CHECK(c)                                                               \
  do {                                                                         \
    if (!(c)) {                                                                \
      fprintf(stderr, "child check failed, line %d: %s (%s)\n", __LINE__, #c,  \
              dlerror() ? "dlerror" : "");                                     \
      _exit(__LINE__ % 250 + 1);                                               \
    }                                                                          \
  } while (0)

typedef struct plug_s {
  void *h;
  int (*start)(const char *);
  int (*init_env)(void);
  void (*span)(void);
  int (*filter)(const char *);
  int (*stop)(void);
  int (*name)(const char *);
} plug_t;

static plug_t plug_open(const char *so) {
  plug_t p;
  memset(&p, 0, sizeof p);
  p.h = dlopen(so, RTLD_NOW | RTLD_LOCAL);
  if (!p.h)
    fprintf(stderr, "dlopen: %s\n", dlerror());
  CHECK(p.h);
  *(void **)&p.start = dlsym(p.h, "plug_start");
  *(void **)&p.init_env = dlsym(p.h, "plug_init_env");
  *(void **)&p.span = dlsym(p.h, "plug_span");
  *(void **)&p.filter = dlsym(p.h, "plug_filter");
  *(void **)&p.stop = dlsym(p.h, "plug_stop");
  *(void **)&p.name = dlsym(p.h, "plug_name");
  CHECK(p.start && p.init_env && p.span && p.filter && p.stop && p.name);
  return p;
}

/* How many lines of the file hold `what`. */
static int lines_with(const char *what) {
  FILE *f = fopen(path, "r");
  if (!f)
    return -1;
  char line[512];
  int n = 0;
  while (fgets(line, sizeof line, f))
    n += strstr(line, what) != NULL;
  fclose(f);
  return n;
}

/* --- code that owns callsites is unloaded (item 1) ------------------------------ */

static void callsite_child(void) {
  plug_t host = plug_open(PLUG_SHARED);
  plug_t site = plug_open(PLUG_SITE);
  CHECK(host.start(path) == 0);
  site.span();
  CHECK(dlclose(site.h) == 0);
  /* The site's object is gone (nothing else holds it). */
  CHECK(dlopen(PLUG_SITE, RTLD_NOW | RTLD_NOLOAD) == NULL);
  /* Writes every callsite's interest: never into the unmapped one. */
  CHECK(host.filter("debug") == 0);
  CHECK(host.filter("off") == 0);
  host.span(); /* filtered out */
  CHECK(host.filter(NULL) == 0);
  CHECK(host.stop() == 0);
  /* The frame name was copied: it outlives its object. */
  CHECK(lines_with(";plugin::plug_work ") == 1);
}

static void test_plug_dlclose_of_callsites(void **state) {
  (void)state;
  in_child(callsite_child, 20);
}

/* --- cflame itself is unloaded (item 2) ----------------------------------------- */

static plug_t unload_plug;
static int go[2], done[2];

static void *recorder(void *arg) {
  (void)arg;
  unload_plug.span(); /* this thread now has cflame state and a TSD */
  char c = 'x';
  (void)!write(done[1], &c, 1);
  (void)!read(go[0], &c, 1); /* until the plugin is closed */
  return NULL;             /* TSD destructors run now */
}

static void unload_case(const char *so, const char *holder) {
  CHECK(pipe(go) == 0 && pipe(done) == 0);
  unload_plug = plug_open(so);
  CHECK(unload_plug.start(path) == 0);
  pthread_t th;
  CHECK(pthread_create(&th, NULL, recorder, NULL) == 0);
  char c;
  CHECK(read(done[0], &c, 1) == 1);
  CHECK(unload_plug.stop() == 0);
  CHECK(dlclose(unload_plug.h) == 0);
  CHECK(write(go[1], &c, 1) == 1);
  CHECK(pthread_join(th, NULL) == 0);
  CHECK(lines_with(";plugin::plug_work ") == 1);
  /* Pinned: the object that holds cflame is still there. */
  CHECK(dlopen(holder, RTLD_NOW | RTLD_NOLOAD) != NULL);
}

static void unload_shared_child(void) {
  unload_case(PLUG_SHARED, CFLAME_SHARED_LIB);
}

static void unload_static_child(void) {
  unload_case(PLUG_STATIC_A, PLUG_STATIC_A);
}

/* libcflame.so unloaded with the plugin that loaded it: a thread that
 * recorded spans exits afterwards without a crash. */
static void test_plug_unload_shared_cflame(void **state) {
  (void)state;
  in_child(unload_shared_child, 20);
}

/* Same for a plugin with a static copy of cflame. */
static void test_plug_unload_static_copy(void **state) {
  (void)state;
  in_child(unload_static_child, 20);
}

static void *namer(void *arg) {
  (void)arg;
  CHECK(unload_plug.name("worker") == 0); /* thread state, no sink ever */
  char c = 'x';
  (void)!write(done[1], &c, 1);
  (void)!read(go[0], &c, 1);
  return NULL;
}

static void unload_named_child(void) {
  CHECK(pipe(go) == 0 && pipe(done) == 0);
  unload_plug = plug_open(PLUG_STATIC_B);
  pthread_t th;
  CHECK(pthread_create(&th, NULL, namer, NULL) == 0);
  char c;
  CHECK(read(done[0], &c, 1) == 1);
  CHECK(dlclose(unload_plug.h) == 0);
  CHECK(write(go[1], &c, 1) == 1);
  CHECK(pthread_join(th, NULL) == 0);
  CHECK(dlopen(PLUG_STATIC_B, RTLD_NOW | RTLD_NOLOAD) != NULL);
}

/* A plugin that only named a thread (no sink ever installed) is unloaded
 * before that thread exits. */
static void test_plug_unload_after_thread_name(void **state) {
  (void)state;
  in_child(unload_named_child, 20);
}

/* --- two static copies, one CFLAME_FLAME (item 12) ------------------------------- */

static void two_copies_child(void) {
  CHECK(setenv("CFLAME_FLAME", path, 1) == 0);
  plug_t a = plug_open(PLUG_STATIC_A);
  plug_t b = plug_open(PLUG_STATIC_B);
  CHECK(a.init_env() == 0);
  CHECK(b.init_env() != 0); /* refused: the file has a writer */
  a.span();
  b.span();
  CHECK(a.stop() == 0);
  CHECK(b.stop() == 0);
  CHECK(lines_with(";plugin::plug_work ") == 1);
}

static void test_plug_two_static_copies(void **state) {
  (void)state;
  in_child(two_copies_child, 20);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_plug_dlclose_of_callsites, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_plug_unload_shared_cflame, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_plug_unload_static_copy, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_plug_unload_after_thread_name,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_plug_two_static_copies, setup,
                                      teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
