# Sums "stack<TAB>calls<TAB>wall" lines per stack; prints them sorted by the
# caller (sort). Shared by the reader tests so both sides merge alike.
BEGIN { FS = "\t" }
NF == 3 { c[$1] += $2; w[$1] += $3; seen[$1] = 1 }
NF != 3 { print "bad line: " $0 > "/dev/stderr"; bad = 1 }
END {
  for (s in seen)
    printf "%s\t%.0f\t%.0f\n", s, c[s], w[s]
  exit bad
}
