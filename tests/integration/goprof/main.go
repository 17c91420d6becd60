// goprof: a workload with known shape for kiln report's comparison with go tool pprof.
//
// It burns CPU in three named functions in the ratio 3:2:1 (burnA, burnB, burnC; burnC
// recurses; a small helper, mix, is inlined into each), allocates from two sites
// (allocSmall, allocLarge; half of each kept alive), and writes OUTDIR/cpu.pprof and
// OUTDIR/heap.pprof. Usage: goprof OUTDIR [SCALE]. Standard library only.
package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
)

var sink uint64
var keep [][]byte

// mix is small enough to be inlined into its callers, so their locations carry two lines.
func mix(x uint64) uint64 {
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	return x ^ (x >> 29)
}

// Each burner runs the same loop itself (so it holds the flat time); every eighth step goes
// through mix, which shows up as an inlined frame of the burner.

//go:noinline
func burnA(n int) {
	acc := sink
	for i := 0; i < 3*n; i++ {
		acc = (acc^acc>>13)*0x9e3779b97f4a7c15 + uint64(i)
		if i&7 == 0 {
			acc = mix(acc)
		}
	}
	sink += acc
}

//go:noinline
func burnB(n int) {
	acc := sink
	for i := 0; i < 2*n; i++ {
		acc = (acc^acc>>13)*0x9e3779b97f4a7c15 + uint64(i)
		if i&7 == 0 {
			acc = mix(acc)
		}
	}
	sink += acc
}

//go:noinline
func burnC(n int, depth int) {
	if depth > 0 {
		burnC(n, depth-1)
		return
	}
	acc := sink
	for i := 0; i < n; i++ {
		acc = (acc^acc>>13)*0x9e3779b97f4a7c15 + uint64(i)
		if i&7 == 0 {
			acc = mix(acc)
		}
	}
	sink += acc
}

//go:noinline
func allocSmall(i int) []byte { return make([]byte, 256) }

//go:noinline
func allocLarge(i int) []byte { return make([]byte, 64<<10) }

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: goprof OUTDIR [SCALE]")
		os.Exit(2)
	}
	dir := os.Args[1]
	scale := 1
	if len(os.Args) > 2 {
		scale, _ = strconv.Atoi(os.Args[2])
	}
	runtime.MemProfileRate = 4096

	cpu, err := os.Create(dir + "/cpu.pprof")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := pprof.StartCPUProfile(cpu); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	const chunk = 200000
	for round := 0; round < 250*scale; round++ {
		burnA(chunk)
		burnB(chunk)
		burnC(chunk, 3)
	}
	pprof.StopCPUProfile()
	cpu.Close()

	for i := 0; i < 20000; i++ {
		b := allocSmall(i)
		if i%2 == 0 {
			keep = append(keep, b)
		}
	}
	for i := 0; i < 200; i++ {
		b := allocLarge(i)
		if i%2 == 0 {
			keep = append(keep, b)
		}
	}
	runtime.GC()
	heap, err := os.Create(dir + "/heap.pprof")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := pprof.Lookup("heap").WriteTo(heap, 0); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	heap.Close()
	runtime.KeepAlive(keep)
}
