// usage: GOMAXPROCS=1 go run park.go [N=100000]
// Memory per parked goroutine: VmRSS growth after N goroutines block on a channel.
// Prints: RESULT go_park_rss_per_goroutine_bytes <bytes> bytes
package main

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
)

// vmRSS returns the resident set size of this process in bytes.
func vmRSS() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		panic(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fields := strings.Fields(sc.Text()); len(fields) >= 2 && fields[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(fields[1], 10, 64)
			return kb * 1024
		}
	}
	panic("no VmRSS")
}

func main() {
	n := 100000
	if len(os.Args) > 1 {
		n, _ = strconv.Atoi(os.Args[1])
	}
	block := make(chan struct{}) // never closed: every goroutine parks for good
	runtime.GC()
	before := vmRSS()
	var started sync.WaitGroup // every goroutine has run up to its park point
	started.Add(n)
	for i := 0; i < n; i++ {
		go func() {
			started.Done()
			<-block
		}()
	}
	started.Wait()
	runtime.GC()
	after := vmRSS()
	fmt.Fprintf(os.Stderr, "goroutines=%d rss before=%d after=%d\n", runtime.NumGoroutine(), before, after)
	fmt.Printf("RESULT go_park_rss_per_goroutine_bytes %.0f bytes\n", float64(after-before)/float64(n))
	os.Exit(0)
}
