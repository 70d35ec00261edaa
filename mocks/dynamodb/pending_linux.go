//go:build linux

package dynamodb

import (
	"net"
	"syscall"
	"unsafe"
)

// hasPendingInput reports whether the client has sent bytes the server has
// not read yet: a request is arriving on a connection that still looks
// idle (the server's goroutine has not run since), and closing it now would
// lose that request.
func hasPendingInput(c net.Conn) bool {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return false
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	pending := false
	_ = raw.Control(func(fd uintptr) {
		var n int32
		// FIONREAD: bytes waiting in the socket's receive queue.
		_, _, errno := syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TIOCINQ, uintptr(unsafe.Pointer(&n)))
		pending = errno == 0 && n > 0
	})
	return pending
}
