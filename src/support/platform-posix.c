/* POSIX (Linux first) implementation of platform.h. */
#define _GNU_SOURCE
#include "platform.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

int cflame__plat_is_main_thread(void) {
#ifdef SYS_gettid
  return (pid_t)syscall(SYS_gettid) == getpid();
#else
  return 0;
#endif
}

long cflame__plat_getpid(void) {
  return (long)getpid();
}

const char *cflame__plat_getenv(const char *name) {
  return secure_getenv(name);
}

int cflame__plat_open_out(const char *path, int nofollow) {
  int flags = O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC;
  if (nofollow)
    flags |= O_NOFOLLOW;
  int fd;
  do
    fd = open(path, flags, 0644);
  while (fd < 0 && errno == EINTR);
  return fd < 0 ? -errno : fd;
}

int64_t cflame__plat_regular_offset(int fd) {
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
    return -1;
  off_t off = lseek(fd, 0, SEEK_CUR);
  return off < 0 ? -1 : (int64_t)off;
}

int cflame__plat_truncate(int fd, int64_t offset) {
  if (lseek(fd, (off_t)offset, SEEK_SET) < 0)
    return -errno;
  int rc;
  do
    rc = ftruncate(fd, (off_t)offset);
  while (rc != 0 && errno == EINTR);
  return rc != 0 ? -errno : 0;
}

void cflame__plat_close(int fd) {
  /* On Linux the fd is released even when close reports EINTR. */
  (void)close(fd);
}

long cflame__plat_write(int fd, const void *buf, size_t len) {
  /* A pipe whose reader left would kill the process with SIGPIPE; block it
   * for this thread, then consume one that we raised ourselves. */
  sigset_t pipe_set, old;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  sigset_t pending;
  sigemptyset(&pending);
  int was_pending = 0;
  if (sigpending(&pending) == 0)
    was_pending = sigismember(&pending, SIGPIPE) == 1;
  pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
  ssize_t n = write(fd, buf, len);
  int err = errno;
  if (n < 0 && err == EPIPE && !was_pending) {
    struct timespec zero = {0, 0};
    while (sigtimedwait(&pipe_set, NULL, &zero) < 0 && errno == EINTR)
      ;
  }
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  return n < 0 ? -(long)err : (long)n;
}

uint64_t cflame__plat_monotonic_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int cflame__plat_tsc_usable(void) {
#if defined(__x86_64__) || defined(__i386__)
  unsigned a, b, c, d;
  if (__get_cpuid(0x80000000u, &a, &b, &c, &d) && a >= 0x80000007u &&
      __get_cpuid(0x80000007u, &a, &b, &c, &d) && (d & (1u << 8)))
    return 1;
  return 0;
#elif defined(__aarch64__)
  return 1; /* the generic timer is constant-rate by architecture */
#else
  return 0;
#endif
}

int cflame__plat_atfork(void (*prepare)(void), void (*parent)(void),
                        void (*child)(void)) {
  return pthread_atfork(prepare, parent, child) == 0 ? 0 : -1;
}
