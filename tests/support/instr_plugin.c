/* Loaded by cflame-instr-child with dlopen and dlclose'd before it exits:
 * its functions must keep their names in the output. Built with
 * -finstrument-functions; the hooks come from the executable. Built twice:
 * the second copy (PLUGIN_OTHER) has the same code under other names
 * (other_*), so the loader tends to put it where the first one was. */
#define NOINLINE __attribute__((noinline))

#ifdef PLUGIN_OTHER
#define PLUGIN_NAME(x) other_##x
#else
#define PLUGIN_NAME(x) plugin_##x
#endif
#define plugin_entry PLUGIN_NAME(entry)
#define plugin_helper PLUGIN_NAME(helper)

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
