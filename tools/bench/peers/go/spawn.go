// usage: GOMAXPROCS=1 go run spawn.go [R=1000 batches] [B=1000 per batch]
// Goroutine spawn+run+join cost: batches of B goroutines joined via WaitGroup.
// Prints: RESULT go_spawn_join_ns <ns per goroutine> ns
package main

import (
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"
)

func main() {
	r, b := 1000, 1000
	if len(os.Args) > 1 {
		r, _ = strconv.Atoi(os.Args[1])
	}
	if len(os.Args) > 2 {
		b, _ = strconv.Atoi(os.Args[2])
	}
	out := make([]int, b)
	var wg sync.WaitGroup
	start := time.Now()
	for k := 0; k < r; k++ {
		wg.Add(b)
		for i := 0; i < b; i++ {
			go func(i int) {
				out[i] = i
				wg.Done()
			}(i)
		}
		wg.Wait()
	}
	el := time.Since(start)
	fmt.Fprintf(os.Stderr, "%d goroutines in %v (check %d)\n", r*b, el, out[b-1])
	fmt.Printf("RESULT go_spawn_join_ns %.2f ns\n", float64(el.Nanoseconds())/float64(r*b))
}
