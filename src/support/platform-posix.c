/* POSIX (Linux first) implementation of platform.h. */
#define _GNU_SOURCE
#include "platform.h"

#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#include <dlfcn.h>
#include <link.h>

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

/* One writer per file: a second cflame in this process (a plugin with its
 * own static copy) or another process writing the same path would truncate
 * our data at each rewrite. An open-file-description lock on regular files
 * makes the second one fail instead (the lock goes with the last fd of this
 * open, so a fork child sharing it is no second writer). */
static int lock_regular(int fd) {
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
    return 0;
#ifdef F_OFD_SETLK
  struct flock fl;
  memset(&fl, 0, sizeof fl);
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  if (fcntl(fd, F_OFD_SETLK, &fl) != 0)
    return errno == EAGAIN || errno == EACCES ? -EBUSY : 0;
#endif
  return 0;
}

int cflame__plat_open_out(const char *path, int nofollow) {
  /* Non-blocking: a FIFO without a reader fails with ENXIO at once
   * instead of blocking the host forever. Truncated only once ours. */
  int flags = O_WRONLY | O_CREAT | O_CLOEXEC | O_NONBLOCK;
  if (nofollow)
    flags |= O_NOFOLLOW;
  int fd;
  do
    fd = open(path, flags, 0644);
  while (fd < 0 && errno == EINTR);
  if (fd < 0)
    return -errno;
  int rc = lock_regular(fd);
  int fl = fcntl(fd, F_GETFL);
  if (rc == 0 && (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0))
    rc = -errno;
  if (rc == 0) {
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
      while ((rc = ftruncate(fd, 0)) != 0 && errno == EINTR)
        ;
    rc = rc != 0 ? -errno : 0;
  }
  if (rc < 0) {
    (void)close(fd);
    return rc;
  }
  return fd;
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
  /* A pipe whose reader left would kill the process with SIGPIPE, a file
   * past RLIMIT_FSIZE with SIGXFSZ; block both for this thread (write then
   * fails with EPIPE or EFBIG), then consume one that we raised ourselves.
   * Cancellation is off meanwhile: write is a cancellation point, and a
   * cancelled write would leave the caller's lock held. */
  sigset_t set, old, pending;
  sigemptyset(&set);
  sigaddset(&set, SIGPIPE);
  sigaddset(&set, SIGXFSZ);
  sigemptyset(&pending);
  int had_pipe = 0, had_xfsz = 0, cancel;
  if (sigpending(&pending) == 0) {
    had_pipe = sigismember(&pending, SIGPIPE) == 1;
    had_xfsz = sigismember(&pending, SIGXFSZ) == 1;
  }
  pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel);
  pthread_sigmask(SIG_BLOCK, &set, &old);
  ssize_t n = write(fd, buf, len);
  int err = errno;
  int sig = n >= 0                           ? 0
            : err == EPIPE && !had_pipe      ? SIGPIPE
            : err == EFBIG && !had_xfsz      ? SIGXFSZ
                                             : 0;
  if (sig) {
    sigset_t one;
    sigemptyset(&one);
    sigaddset(&one, sig);
    struct timespec zero = {0, 0};
    while (sigtimedwait(&one, NULL, &zero) < 0 && errno == EINTR)
      ;
  }
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  pthread_setcancelstate(cancel, NULL);
  return n < 0 ? -(long)err : (long)n;
}

/* --- cancellation ----------------------------------------------------------- */

int cflame__plat_nocancel(void) {
  int old = PTHREAD_CANCEL_ENABLE;
  (void)pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);
  return old;
}

void cflame__plat_cancel_restore(int old) {
  (void)pthread_setcancelstate(old, NULL);
}

uint64_t cflame__plat_monotonic_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t cflame__plat_realtime_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
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

int cflame__plat_stack_bounds(uintptr_t *lo, uintptr_t *hi) {
  pthread_attr_t a;
  if (pthread_getattr_np(pthread_self(), &a) != 0)
    return -1;
  void *addr;
  size_t size;
  int rc = -1;
  if (pthread_attr_getstack(&a, &addr, &size) == 0 && size) {
    *lo = (uintptr_t)addr;
    *hi = (uintptr_t)addr + size;
    rc = 0;
  }
  pthread_attr_destroy(&a);
  return rc;
}

typedef struct module_find_s {
  uintptr_t addr, bias;
  char *path;
  size_t size;
  int found;
} module_find_t;

static int module_cb(struct dl_phdr_info *info, size_t size, void *data) {
  (void)size;
  module_find_t *f = data;
  for (unsigned i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *p = &info->dlpi_phdr[i];
    uintptr_t lo = info->dlpi_addr + p->p_vaddr;
    if (p->p_type != PT_LOAD || f->addr < lo || f->addr - lo >= p->p_memsz)
      continue;
    f->found = 1;
    f->bias = info->dlpi_addr;
    snprintf(f->path, f->size, "%s", info->dlpi_name ? info->dlpi_name : "");
    return 1;
  }
  return 0;
}

/* --- loaded objects ----------------------------------------------------------- */

void cflame__plat_pin_self(void) {
  /* The object holding this code (libcflame.so, or a plugin with a static
   * copy) must outlive every thread it gave a TSD destructor, and its
   * atexit/atfork handlers: never unload it. */
  Dl_info info;
  if (dladdr((void *)(uintptr_t)cflame__plat_pin_self, &info) &&
      info.dli_fname && info.dli_fname[0])
    (void)dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);
}

typedef struct ranges_s {
  cflame__plat_range_t *out;
  size_t cap, n;
  uint64_t subs;
} ranges_t;

static int range_cb(struct dl_phdr_info *info, size_t size, void *ctx) {
  (void)size;
  ranges_t *r = ctx;
  r->subs = (uint64_t)info->dlpi_subs;
  if (!r->out)
    return 1; /* only the unload count is wanted */
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_W))
      continue;
    if (r->n < r->cap) {
      r->out[r->n].lo = (uintptr_t)(info->dlpi_addr + ph->p_vaddr);
      r->out[r->n].hi = r->out[r->n].lo + (uintptr_t)ph->p_memsz;
    }
    r->n++;
  }
  return 0;
}

int cflame__plat_module_at(uintptr_t addr, uintptr_t *bias, char *path,
                           size_t size) {
  module_find_t f = {addr, 0, path, size, 0};
  (void)dl_iterate_phdr(module_cb, &f);
  *bias = f.bias;
  return f.found;
}

int cflame__plat_on_altstack(void) {
  stack_t ss;
  return sigaltstack(NULL, &ss) == 0 && (ss.ss_flags & SS_ONSTACK);
}

uint64_t cflame__plat_unloads(void) {
  ranges_t r = {NULL, 0, 0, 0};
  (void)dl_iterate_phdr(range_cb, &r);
  return r.subs;
}

size_t cflame__plat_writable_ranges(cflame__plat_range_t *out, size_t cap) {
  ranges_t r = {out, cap, 0, 0};
  (void)dl_iterate_phdr(range_cb, &r);
  return r.n;
}
