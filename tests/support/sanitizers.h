/* Private to cflame's tests: which sanitizer this file is built with, as
 * 0/1 macros (GCC says so with __SANITIZE_*__, Clang with __has_feature). */
#ifndef CFLAME_TESTS_SANITIZERS_H
#define CFLAME_TESTS_SANITIZERS_H

#ifndef __has_feature
#define CFLAME_TEST_HAS_FEATURE(x) 0
#else
#define CFLAME_TEST_HAS_FEATURE(x) __has_feature(x)
#endif

#if defined(__SANITIZE_ADDRESS__) || CFLAME_TEST_HAS_FEATURE(address_sanitizer)
#define TEST_ASAN 1
#else
#define TEST_ASAN 0
#endif
#if defined(__SANITIZE_THREAD__) || CFLAME_TEST_HAS_FEATURE(thread_sanitizer)
#define TEST_TSAN 1
#else
#define TEST_TSAN 0
#endif
#if CFLAME_TEST_HAS_FEATURE(memory_sanitizer)
#define TEST_MSAN 1
#else
#define TEST_MSAN 0
#endif

#endif /* CFLAME_TESTS_SANITIZERS_H */
