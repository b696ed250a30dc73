/* C++: CFLAME_FN() and CFLAME_SCOPE() are RAII objects, so a span ends when
 * an exception leaves its block; fields, events and registry spans work as
 * in C. Writes cxx.folded (or the path given) for a flamegraph. */
#include <cflame.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

void pause_ms(int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

class record_store {
public:
  /* Every third record is rejected with an exception thrown two scopes
   * down; the spans of both scopes still end where the stack unwinds. */
  void add(int id) {
    CFLAME_FN(); /* "add" */
    {
      CFLAME_SCOPE("validate");
      pause_ms(1);
      if (id % 3 == 0)
        throw std::invalid_argument("record " + std::to_string(id));
    }
    ids_.push_back(id);
  }
  std::size_t size() const { return ids_.size(); }

private:
  std::vector<int> ids_;
};

long sort_numbers(std::size_t n) {
  std::vector<long> v(n);
  for (std::size_t i = 0; i < n; i++)
    v[i] = static_cast<long>((i * 7919u) % 10007u);
  CFLAME_SPAN_F(tok, "sort", CFLAME_FIELD("n", n));
  std::sort(v.begin(), v.end());
  CFLAME_SPAN_END(tok);
  return v[n / 2];
}

} // namespace

int main(int argc, char **argv) {
  const char *path = argc > 1 ? argv[1] : "cxx.folded";
  cflame_flame_opts_t opts = cflame_flame_opts_default();
  opts.fields_in_frame = true; /* sort{n=200000}, job{kind=cleanup} */
  cflame_guard_t *guard;
  int rc = cflame_flame_file(path, &opts, &guard);
  if (rc < 0) {
    std::fprintf(stderr, "cxx: %s\n", cflame_strerror(rc));
    return 1;
  }

  record_store store;
  int rejected = 0;
  {
    CFLAME_SCOPE("load");
    for (int id = 1; id <= 9; id++) {
      try {
        store.add(id);
      } catch (const std::invalid_argument &) {
        rejected++;
        CFLAME_WARN_EV("rejected", CFLAME_I64("id", id));
      }
    }
  }
  long median = sort_numbers(200000);

  /* A registry span made here and entered on another thread. */
  cflame_span_t job = CFLAME_SPAN_NEW("job", CFLAME_STR("kind", "cleanup"));
  std::thread cleaner([job] {
    cflame_thread_name("cleaner");
    cflame_span_enter(job);
    pause_ms(2);
    cflame_span_exit(job);
  });
  cleaner.join();
  cflame_span_close(job);

  if ((rc = cflame_guard_drop(guard)) < 0) {
    std::fprintf(stderr, "cxx: %s\n", cflame_strerror(rc));
    return 1;
  }
  std::printf("%zu records stored, %d rejected, median %ld\n", store.size(),
              rejected, median);
  std::fprintf(stderr, "cxx: wrote %s\n", path);
  return 0;
}
