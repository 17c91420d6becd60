# bench/lib.bash: helpers shared by the bench scripts (sourced).

# bench_median: the median of the numbers on stdin, one per line.
bench_median() {
	sort -g | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'
}

# bench_write_section RESULTS TITLE FILE: replaces the section "## TITLE" of RESULTS (up to
# the next "## " heading) with FILE, which starts with that heading; appends it when absent.
bench_write_section() {
	local res=$1 title=$2 sec=$3 tmp
	[ -f "$res" ] || printf '# kiln benchmark results\n\n' >"$res"
	tmp=$(mktemp)
	# The section is printed without its trailing blank lines, then one blank line.
	awk -v sec="$sec" -v h="## $title" '
		function put(  n, i, l) {
			n = 0
			while ((getline l < sec) > 0) lines[++n] = l
			while (n > 0 && lines[n] == "") n--
			for (i = 1; i <= n; i++) print lines[i]
			print ""
			done = 1
		}
		$0 == h {skip=1; put(); next}
		skip && /^## / {skip=0}
		!skip {print}
		{last=$0}
		END {if (!done) {if (last != "") print ""; put()}}' "$res" >"$tmp"
	cp "$tmp" "$res"
	rm -f "$tmp"
}
