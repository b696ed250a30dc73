# Turns `go tool pprof -raw` output into "thread;root;...;leaf<TAB>calls
# <TAB>wall" lines, one per sample. Relies on the -raw layout of Go 1.19+:
# a Samples section ("  calls  wall: locid locid ..." leaf first, then
# indented "key:[value]" label lines) and a Locations section
# ("  id: 0xaddr M=mapping name file:line s=start").
/^Samples:/ { sec = "s"; getline; next }
/^Locations/ { sec = "l"; next }
/^Mappings/ { sec = "m"; next }
sec == "s" && /^ *-?[0-9]+ +-?[0-9]+:/ {
  n++
  split($0, half, ":")
  split(half[1], v, " ")
  calls[n] = v[1]
  wall[n] = v[2]
  ids[n] = half[2]
  thread[n] = "[no thread]"
  next
}
sec == "s" && /^ +thread:\[/ {
  t = $0
  sub(/^ +thread:\[/, "", t)
  sub(/\]$/, "", t)
  thread[n] = t
  next
}
sec == "l" && /^ *[0-9]+: 0x/ {
  id = $1
  sub(/:$/, "", id)
  t = $0
  sub(/^ *[0-9]+: 0x[0-9a-f]+ M=[0-9]+ /, "", t)
  sub(/ s=-?[0-9]+$/, "", t)
  sub(/ [^ ]*:-?[0-9]+$/, "", t) # " file:line", file "" when unknown
  name[id] = t
  next
}
END {
  for (i = 1; i <= n; i++) {
    k = split(ids[i], l, " ")
    s = thread[i]
    for (j = k; j >= 1; j--) {
      if (!(l[j] in name)) {
        print "sample " i ": no location " l[j] > "/dev/stderr"
        exit 1
      }
      s = s ";" name[l[j]]
    }
    printf "%s\t%s\t%s\n", s, calls[i], wall[i]
  }
}
