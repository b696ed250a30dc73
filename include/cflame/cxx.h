/* cflame's C++ helpers, included by cflame.h when compiled as C++ (include
 * <cflame.h>, not this file): field lists as temporaries, CFLAME_FIELD's
 * overloads, and cflame::scope, the RAII span of CFLAME_SCOPE / CFLAME_FN. */
#ifndef CFLAME_CXX_H
#define CFLAME_CXX_H

#if !defined(CFLAME_H) || !defined(__cplusplus)
#error "include <cflame.h>, compiled as C++"
#endif

/* A field list is a temporary aggregate that lives until the end of the
 * full expression; its length is counted in an unevaluated sizeof, so it
 * stays a compile-time constant (CFLAME__NFIELDS). */
extern "C++" {
namespace cflame {
namespace detail {
template <size_t N> struct fields {
  cflame_field_t a[N];
  CFLAME__NO_INSTRUMENT const cflame_field_t *data() const noexcept {
    return a;
  }
};
template <typename... T> char (&count(const T &...))[sizeof...(T)];

/* CFLAME_FIELD: the types _Generic picks in C. */
CFLAME__NO_INSTRUMENT inline cflame_field_t
field(const char *k, bool x) noexcept {
  return cflame__f_bool(k, x);
}
CFLAME__NO_INSTRUMENT inline cflame_field_t
field(const char *k, const char *x) noexcept {
  return cflame__f_str(k, x);
}
CFLAME__NO_INSTRUMENT inline cflame_field_t
field(const char *k, double x) noexcept {
  return cflame__f_f64(k, x);
}
CFLAME__NO_INSTRUMENT inline cflame_field_t
field(const char *k, float x) noexcept {
  return cflame__f_f64(k, static_cast<double>(x));
}
CFLAME__NO_INSTRUMENT inline cflame_field_t
field(const char *k, long double x) noexcept {
  return cflame__f_f64(k, static_cast<double>(x));
}
#define CFLAME__FIELD_INT(T, f, U)                                             \
  CFLAME__NO_INSTRUMENT inline cflame_field_t field(const char *k,           \
                                                     T x) noexcept {           \
    return f(k, static_cast<U>(x));                                            \
  }
CFLAME__FIELD_INT(char, cflame__f_i64, int64_t)
CFLAME__FIELD_INT(signed char, cflame__f_i64, int64_t)
CFLAME__FIELD_INT(short, cflame__f_i64, int64_t)
CFLAME__FIELD_INT(int, cflame__f_i64, int64_t)
CFLAME__FIELD_INT(long, cflame__f_i64, int64_t)
CFLAME__FIELD_INT(long long, cflame__f_i64, int64_t)
CFLAME__FIELD_INT(unsigned char, cflame__f_u64, uint64_t)
CFLAME__FIELD_INT(unsigned short, cflame__f_u64, uint64_t)
CFLAME__FIELD_INT(unsigned int, cflame__f_u64, uint64_t)
CFLAME__FIELD_INT(unsigned long, cflame__f_u64, uint64_t)
CFLAME__FIELD_INT(unsigned long long, cflame__f_u64, uint64_t)
#undef CFLAME__FIELD_INT
} /* namespace detail */

/* The span of CFLAME_SCOPE / CFLAME_FN in C++: ends it when the scope is
 * left, by return, break or an exception. Never throws. */
class scope {
public:
  CFLAME__NO_INSTRUMENT explicit scope(cflame_token_t tok) noexcept
      : tok_(tok) {}
  CFLAME__NO_INSTRUMENT ~scope() {
    if (tok_)
      cflame_scope_exit(tok_);
  }
  scope(const scope &) = delete;
  scope &operator=(const scope &) = delete;
  /* The token, e.g. for CFLAME_RECORD; 0 if nothing was entered. */
  CFLAME__NO_INSTRUMENT cflame_token_t token() const noexcept {
    return tok_;
  }

private:
  cflame_token_t tok_;
};
} /* namespace cflame */
}

#endif /* CFLAME_CXX_H */
