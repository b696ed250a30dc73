/* cflame-validate: check files against the folded-stack rules of FORMAT.md
 * (with --pprof: profile.proto; with --timeline: the timeline rules of
 * timeline_check.h).
 * Exit 0 if all files pass, 1 at the first bad file, 2 on usage or I/O
 * error. */
#include "files.h"
#include "folded_check.h"
#include "pprof_check.h"
#include "timeline_check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int usage(FILE *out) {
  fputs("usage: cflame-validate [--sorted] FILE...\n"
        "       cflame-validate --pprof FILE...\n"
        "       cflame-validate --pprof-stacks FILE\n"
        "       cflame-validate --pprof-folded[-near] FOLDED FILE\n"
        "  --sorted  also require merged, bytewise sorted stacks (rule 6)\n"
        "  --pprof   FILEs are uncompressed pprof profile.proto files\n"
        "  --pprof-stacks  check FILE, print \"thread;root;..;leaf<TAB>calls"
        "<TAB>wall\"\n"
        "                  per distinct stack\n"
        "  --pprof-folded  check FILE, and that its wall time per stack (the\n"
        "                  thread label as root) equals FOLDED's\n"
        "       cflame-validate --timeline [--complete] [--e-names] FILE...\n"
        "  --timeline  FILEs are Chrome Trace Event JSON timelines\n"
        "  --complete  with --timeline: reject a cut file\n"
        "  --e-names   with --timeline: require a name on E events too\n",
        out);
  return 2;
}

/* --pprof-stacks / --pprof-folded: 0 ok, 1 mismatch or invalid, 2 I/O. */
static int pprof_stacks(const char *folded, const char *path) {
  pprof_result_t r;
  if (pprof_check_file(path, PPROF_CHECK_THREAD_ROOT, &r)) {
    fprintf(stderr, "%s: %s\n", path, r.error);
    return 1;
  }
  int rc = 0;
  if (folded) {
    char *buf, msg[512];
    size_t len;
    int errnum;
    const char *what = file_read(folded, &buf, &len, &errnum);
    if (what) {
      fprintf(stderr, "%s: %s: %s\n", folded, what, strerror(errnum));
      rc = 2;
    } else if (pprof_compare_folded(&r, buf, len, msg, sizeof msg)) {
      fprintf(stderr, "%s vs %s: %s\n", path, folded, msg);
      rc = 1;
    } else {
      printf("%s: %zu stacks, wall per stack equal to %s\n", path, r.nstacks,
             folded);
    }
    free(buf);
  } else {
    for (size_t k = 0; k < r.nstacks; k++)
      printf("%s\t%lld\t%lld\n", r.stacks[k].stack, r.stacks[k].calls,
             r.stacks[k].wall);
  }
  pprof_result_free(&r);
  return rc;
}

/* --timeline: one summary line per file and one per thread. */
static int validate_timelines(int n, char **paths, unsigned flags) {
  for (int i = 0; i < n; i++) {
    timeline_check_error_t err;
    timeline_summary_t sum;

    if (!timeline_check_file(paths[i], flags, &err, &sum)) {
      printf("%s: ok (%zu events, %zu threads, %s)\n", paths[i], sum.events,
             sum.nthreads, sum.cut ? "cut" : "complete");
      for (size_t t = 0; t < sum.nthreads; t++)
        printf("  %llu:%llu \"%s\": %zu slices, top-level %llu ns\n",
               (unsigned long long)sum.threads[t].pid,
               (unsigned long long)sum.threads[t].tid, sum.threads[t].name,
               sum.threads[t].slices,
               (unsigned long long)sum.threads[t].top_ns);
      timeline_summary_free(&sum);
      continue;
    }
    fflush(stdout);
    if (err.rule == TL_IO) {
      fprintf(stderr, "%s: %s\n", paths[i], err.msg);
      return 2;
    }
    if (err.line)
      fprintf(stderr, "%s:%zu: byte %zu: %s\n", paths[i], err.line, err.byte,
              err.msg);
    else
      fprintf(stderr, "%s: %s\n", paths[i], err.msg);
    return 1;
  }
  return 0;
}

int main(int argc, char **argv) {
  unsigned flags = 0, tl_flags = 0;
  int i, pprof = 0, timeline = 0;

  if (argc == 3 && !strcmp(argv[1], "--pprof-stacks"))
    return pprof_stacks(NULL, argv[2]);
  if (argc == 4 && !strcmp(argv[1], "--pprof-folded"))
    return pprof_stacks(argv[2], argv[3]);
  if (argc == 4 && !strcmp(argv[1], "--pprof-folded-near")) {
    pprof_compare_tolerance(1e-3); /* real clocks: see pprof_check.h */
    return pprof_stacks(argv[2], argv[3]);
  }

  for (i = 1; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
    if (!strcmp(argv[i], "--")) {
      i++;
      break;
    }
    if (!strcmp(argv[i], "--sorted")) {
      flags |= FOLDED_CHECK_SORTED;
    } else if (!strcmp(argv[i], "--pprof")) {
      pprof = 1;
    } else if (!strcmp(argv[i], "--timeline")) {
      timeline = 1;
    } else if (!strcmp(argv[i], "--complete")) {
      tl_flags |= TIMELINE_CHECK_COMPLETE;
    } else if (!strcmp(argv[i], "--e-names")) {
      tl_flags |= TIMELINE_CHECK_E_NAMES;
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
  if (timeline)
    return validate_timelines(argc - i, argv + i, tl_flags);

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
