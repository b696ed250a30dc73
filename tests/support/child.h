/* Private to cflame's tests: running a case in a child process. Include
 * after <cmocka.h>. */
#ifndef CFLAME_TESTS_CHILD_H
#define CFLAME_TESTS_CHILD_H

/* Runs fn in a forked child that SIGALRM kills after `seconds`, with crash
 * signals at their default action (a crash must kill the child, not return
 * into cmocka's handler); asserts that the child exited 0: not killed by a
 * signal, not hung. */
void in_child(void (*fn)(void), unsigned seconds);

#endif /* CFLAME_TESTS_CHILD_H */
