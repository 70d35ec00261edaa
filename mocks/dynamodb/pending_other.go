//go:build !linux

package dynamodb

import "net"

// hasPendingInput cannot look into the socket on this platform.
func hasPendingInput(net.Conn) bool { return false }
