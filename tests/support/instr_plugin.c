/* Loaded by cflame-instr-child with dlopen and dlclose'd before it exits:
 * its functions must keep their names in the output. Built with
 * -finstrument-functions; the hooks come from the executable. */
#define NOINLINE __attribute__((noinline))

int plugin_entry(int n);

static volatile int plugin_sink;

static NOINLINE int plugin_helper(int x) {
  plugin_sink = x;
  return x + 1;
}

NOINLINE int plugin_entry(int n) {
  int s = 0;
  for (int i = 0; i < n; i++)
    s += plugin_helper(i);
  return s;
}
