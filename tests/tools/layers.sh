#!/bin/sh
# make layers: every quoted #include in pkg/ and cmd/ names its folder and
# points down the layers, never up, and no front door includes another:
#
#   base < contract < sandbox, deps < run < api < frontdoor < cmd
#
# sandbox and deps are peers that may not include each other.  Prints each
# offending line as file:line: from -> to, and fails when there is one.
set -u
cd "$(dirname "$0")/../.." || exit 2

rank() {
	case $1 in
	base) echo 0 ;; contract) echo 1 ;; sandbox | deps) echo 2 ;; run) echo 3 ;;
	api) echo 4 ;; frontdoor) echo 5 ;; cmd) echo 6 ;; *) echo -1 ;;
	esac
}

bad=0
out=$(mktemp)
for f in pkg/*/*.[ch] cmd/runbox/*.c; do
	case $f in cmd/*) from=cmd ;; *) from=${f#pkg/} from=${from%%/*} ;; esac
	[ "$(rank "$from")" -ge 0 ] || { echo "$f: folder '$from' is not a layer"; bad=1; continue; }
	grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$f" |
		while IFS= read -r line; do
			n=${line%%:*}
			target=$(printf '%s\n' "$line" | sed 's/.*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/')
			case $target in
			syscall_names.h | template_files.h) continue ;; # generated into build/gen by the Makefile
			*/*) to=${target%%/*} ;;
			*) echo "$f:$n: include \"$target\" does not name its folder"; continue ;;
			esac
			[ -f "pkg/$target" ] || { echo "$f:$n: no such header pkg/$target"; continue; }
			[ "$to" = "$from" ] && {
				# A front door includes only its own header.
				[ "$from" = frontdoor ] && [ "${target%.h}" != "${f%.[ch]}" ] &&
					[ "pkg/${target%.h}" != "${f%.[ch]}" ] &&
					echo "$f:$n: front door -> front door ($target)"
				continue
			}
			rf=$(rank "$from") rt=$(rank "$to")
			if [ "$rt" -lt 0 ]; then
				echo "$f:$n: '$to' is not a layer"
			elif [ "$rt" -ge "$rf" ]; then
				echo "$f:$n: $from -> $to (up or sideways)"
			fi
		done
done > "$out"
[ -s "$out" ] && { cat "$out" >&2; bad=1; }
rm -f "$out"
[ "$bad" -eq 0 ] && echo "layers: every include points down (base < contract < sandbox, deps < run < api < frontdoor < cmd)"
exit $bad
