package kit

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

// Service is what every mock's server implements, so cmd/mockaws and the
// embedded backend run them the same way: Start binds its listeners and
// returns once they accept (so the caller can read their addresses) with the
// service's loops running until ctx ends or Close; Close stops everything and
// releases every port, and may be called more than once.
type Service interface {
	Start(ctx context.Context) error
	Close() error
}

// HTTPServer is an http.Server on a listener it owns.
type HTTPServer struct {
	srv  *http.Server
	ln   net.Listener
	done chan struct{}
	once sync.Once
}

// StartHTTP listens on addr ("127.0.0.1:0" picks a port) and serves h in the
// background.
func StartHTTP(addr string, h http.Handler, configure ...func(*http.Server)) (*HTTPServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", addr, err)
	}
	return ServeHTTP(ln, h, configure...), nil
}

// ServeHTTP serves h on ln in the background.
func ServeHTTP(ln net.Listener, h http.Handler, configure ...func(*http.Server)) *HTTPServer {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	for _, c := range configure {
		c(srv)
	}
	s := &HTTPServer{srv: srv, ln: ln, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		_ = srv.Serve(ln)
	}()
	return s
}

// Addr is the listening address (host:port).
func (s *HTTPServer) Addr() string { return s.ln.Addr().String() }

// URL is http://Addr.
func (s *HTTPServer) URL() string { return "http://" + s.Addr() }

// Server is the underlying http.Server.
func (s *HTTPServer) Server() *http.Server { return s.srv }

// Close stops the server at once, closing open connections, and waits for
// its serving goroutine.
func (s *HTTPServer) Close() error {
	if s == nil {
		return nil
	}
	var err error
	s.once.Do(func() {
		err = s.srv.Close()
		<-s.done
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
	})
	return err
}

// Shutdown stops the server gracefully within ctx, then closes it.
func (s *HTTPServer) Shutdown(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	_ = s.Close()
	return err
}
