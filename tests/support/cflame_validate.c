/* cflame-validate: check files against the folded-stack rules of FORMAT.md.
 * Exit 0 if all files pass, 1 at the first bad file, 2 on usage or I/O
 * error. */
#include "folded_check.h"
#include "pprof_check.h"

#include <stdio.h>
#include <string.h>

static int usage(FILE *out) {
  fputs("usage: cflame-validate [--sorted] FILE...\n"
        "       cflame-validate --pprof FILE...\n"
        "  --sorted  also require merged, bytewise sorted stacks (rule 6)\n"
        "  --pprof   FILEs are uncompressed pprof profile.proto files\n",
        out);
  return 2;
}

int main(int argc, char **argv) {
  unsigned flags = 0;
  int i, pprof = 0;

  for (i = 1; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
    if (!strcmp(argv[i], "--")) {
      i++;
      break;
    }
    if (!strcmp(argv[i], "--sorted")) {
      flags |= FOLDED_CHECK_SORTED;
    } else if (!strcmp(argv[i], "--pprof")) {
      pprof = 1;
    } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
      usage(stdout);
      return 0;
    } else {
      fprintf(stderr, "cflame-validate: unknown option '%s'\n", argv[i]);
      return usage(stderr);
    }
  }
  if (i == argc)
    return usage(stderr);

  for (; pprof && i < argc; i++) {
    pprof_result_t r;
    if (pprof_check_file(argv[i], 0, &r)) {
      fflush(stdout);
      fprintf(stderr, "%s: %s\n", argv[i], r.error);
      return 1;
    }
    printf("%s: ok (%zu samples, %zu stacks, %zu locations, %zu functions, "
           "%zu strings)\n",
           argv[i], r.samples, r.nstacks, r.locations, r.functions, r.strings);
    pprof_result_free(&r);
  }
  for (; i < argc; i++) {
    folded_check_error_t err;
    size_t lines;
    unsigned long long total;

    if (!folded_check_file(argv[i], flags, &err, &lines, &total)) {
      printf("%s: ok (%zu lines, total %llu)\n", argv[i], lines, total);
      continue;
    }
    fflush(stdout);
    if (err.rule == 0) {
      fprintf(stderr, "%s: %s\n", argv[i], err.msg);
      return 2;
    }
    if (err.line)
      fprintf(stderr, "%s:%zu: rule %d: %s\n", argv[i], err.line, err.rule,
              err.msg);
    else
      fprintf(stderr, "%s: rule %d: %s\n", argv[i], err.rule, err.msg);
    return 1;
  }
  return 0;
}
