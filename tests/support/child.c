/* Private to cflame's tests: see child.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "child.h"

void in_child(void (*fn)(void), unsigned seconds) {
  fflush(NULL);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    static const int sigs[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};
    for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++)
      signal(sigs[i], SIG_DFL);
    alarm(seconds);
    fn();
    _exit(0);
  }
  int st = 0;
  assert_int_equal(waitpid(pid, &st, 0), pid);
  if (WIFSIGNALED(st))
    fail_msg("child killed by signal %d%s", WTERMSIG(st),
             WTERMSIG(st) == SIGALRM ? " (hung)" : "");
  assert_true(WIFEXITED(st));
  assert_int_equal(WEXITSTATUS(st), 0);
}
