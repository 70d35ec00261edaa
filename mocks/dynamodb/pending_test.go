package dynamodb

import (
	"net"
	"runtime"
	"testing"
	"time"
)

func TestHasPendingInput(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("pending input is only visible on linux")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	if hasPendingInput(server) {
		t.Fatal("pending input on a silent connection")
	}
	if _, err := client.Write([]byte("POST / HTTP/1.1\r\n")); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !hasPendingInput(server) {
		if time.Now().After(deadline) {
			t.Fatal("written bytes never seen as pending")
		}
		runtime.Gosched()
	}
}
