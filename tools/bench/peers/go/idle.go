// usage: GOMAXPROCS=1 go run idle.go PORT [BUF=4096]
// Idle-connection server on 127.0.0.1:PORT: one goroutine per connection,
// blocked in Read with a BUF-byte buffer, echoing whatever arrives. Runs until
// killed. On SIGUSR1 prints to stdout:
//
//	RESULT go_idle_rss_bytes <VmRSS> bytes
//	RESULT go_idle_conns <open connections> conns
package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

var open int64

func vmRSS() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fields := strings.Fields(sc.Text()); len(fields) >= 2 && fields[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(fields[1], 10, 64)
			return kb * 1024
		}
	}
	return -1
}

func serve(c net.Conn, bufSize int) {
	defer func() { c.Close(); atomic.AddInt64(&open, -1) }()
	buf := make([]byte, bufSize)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if _, werr := c.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: idle PORT [BUF=4096]")
		os.Exit(2)
	}
	bufSize := 4096
	if len(os.Args) > 2 {
		bufSize, _ = strconv.Atoi(os.Args[2])
	}
	ln, err := net.Listen("tcp", "127.0.0.1:"+os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGUSR1)
	go func() {
		for range sig {
			// os.Stdout is unbuffered in Go, so each line is written at once.
			fmt.Printf("RESULT go_idle_rss_bytes %d bytes\n", vmRSS())
			fmt.Printf("RESULT go_idle_conns %d conns\n", atomic.LoadInt64(&open))
		}
	}()
	fmt.Fprintln(os.Stderr, "listening")
	for {
		c, err := ln.Accept()
		if err != nil {
			// EMFILE and the like: report, back off, keep accepting.
			fmt.Fprintln(os.Stderr, "accept:", err)
			time.Sleep(10 * time.Millisecond)
			continue
		}
		atomic.AddInt64(&open, 1)
		go serve(c, bufSize)
	}
}
