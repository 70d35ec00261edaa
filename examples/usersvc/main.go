// Command usersvc is the smallest user's service to attach to a cascade
// stack (cascade up --attach, cascadetest.WithAttach; docs/attach.md): it
// knows nothing of cascade. It takes its AWS settings from the environment
// as any service does (AWS_REGION, credentials, AWS_ENDPOINT_URL_DYNAMODB,
// which names DynamoDB's real regional hostname) and resolves that hostname
// with the system resolver, which in the attached container is the stack's
// mock DNS.
//
//	GET /healthz  200
//	GET /resolve  200 and the addresses of DynamoDB's hostname, or 503 and the error
//	GET /ddb      200 and DynamoDB's table names (ListTables), or 502 and the error
//
// Outside the stack's network (a process started next to an embedded
// stack, with the stack's Env) the system resolver does not know the mock
// DNS: when CASCADE_DNS is set, usersvc points Go's resolver at it, the
// one line a Go service needs (other languages: their resolver's
// nameserver setting). An attached container gets no CASCADE_DNS: its
// system resolver is the mock DNS already.
//
// USERSVC_ADDR is where it listens (default :8080); it logs the address.
//
// Each /ddb call opens a new connection (no keep-alive) and does not
// retry, so it sees the DNS of the moment: while the regional record is
// empty it fails with "no such host".
//
// Build it FROM scratch (no registry needed):
//
//	CGO_ENABLED=0 go build -o usersvc ./examples/usersvc
//	printf 'FROM scratch\nCOPY usersvc /usersvc\nENTRYPOINT ["/usersvc"]\n' > Dockerfile
//	docker build -t usersvc:local .
package main

import (
	"context"
	"encoding/json"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

func main() {
	addr := os.Getenv("USERSVC_ADDR")
	if addr == "" {
		addr = ":8080"
	}
	if dns := os.Getenv("CASCADE_DNS"); dns != "" {
		net.DefaultResolver = &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, dns)
		}}
	}
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		log.Fatalf("usersvc: aws config: %v", err)
	}
	ddb := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		o.HTTPClient = &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil}}
		o.RetryMaxAttempts = 1
	})
	host := "dynamodb." + cfg.Region + ".amazonaws.com"
	if u, err := url.Parse(os.Getenv("AWS_ENDPOINT_URL_DYNAMODB")); err == nil && u.Hostname() != "" {
		host = u.Hostname()
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { reply(w, http.StatusOK, "ok") })
	mux.HandleFunc("GET /resolve", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		defer cancel()
		addrs, err := net.DefaultResolver.LookupHost(ctx, host)
		if err != nil {
			reply(w, http.StatusServiceUnavailable, map[string]string{"host": host, "error": err.Error()})
			return
		}
		reply(w, http.StatusOK, map[string]any{"host": host, "addrs": addrs})
	})
	mux.HandleFunc("GET /ddb", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		out, err := ddb.ListTables(ctx, &dynamodb.ListTablesInput{})
		if err != nil {
			reply(w, http.StatusBadGateway, map[string]string{"error": err.Error()})
			return
		}
		reply(w, http.StatusOK, map[string]any{"tables": out.TableNames})
	})
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		log.Fatalf("usersvc: %v", err)
	}
	log.Printf("usersvc: listening on %s, DynamoDB at %s", ln.Addr(), host)
	log.Fatal(http.Serve(ln, mux))
}

func reply(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
