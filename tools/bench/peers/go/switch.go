// usage: GOMAXPROCS=1 go run switch.go [N=2000000 round trips]
// Goroutine switch cost: ping-pong over two unbuffered channels.
// Prints: RESULT go_switch_ns <ns per switch> ns (a round trip = 2 switches)
package main

import (
	"fmt"
	"os"
	"strconv"
	"time"
)

func main() {
	n := 2000000
	if len(os.Args) > 1 {
		n, _ = strconv.Atoi(os.Args[1])
	}
	ping, pong := make(chan int), make(chan int)
	go func() {
		for v := range ping {
			pong <- v + 1
		}
	}()
	ping <- 0 // warm up: make sure the peer goroutine is running
	<-pong
	start := time.Now()
	for i := 0; i < n; i++ {
		ping <- i
		<-pong
	}
	el := time.Since(start)
	close(ping)
	fmt.Fprintf(os.Stderr, "%d round trips in %v\n", n, el)
	fmt.Printf("RESULT go_switch_ns %.2f ns\n", float64(el.Nanoseconds())/float64(2*n))
}
