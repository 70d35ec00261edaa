package containers

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
)

// toxiRouter serves one toxiproxy API over several toxiproxy servers: the
// DynamoDB load balancers are toxiproxy containers of their own (each needs
// its own address on the network) and the links live in a shared one, but
// the harness (Stack.Toxiproxy, cascade inject) speaks to one API.
//
//	GET  /proxies              merged from every server
//	*    /proxies/<name>[/...] forwarded to the server that holds <name>
//	POST /proxies              created on the links' server
//	POST /reset                fanned out to every server
//	*    anything else         the links' server
type toxiRouter struct {
	main  *url.URL
	owner map[string]*url.URL // proxy name -> its server
	all   []*url.URL
}

func newToxiRouter(main string, byProxy map[string]string) (*toxiRouter, error) {
	m, err := url.Parse(main)
	if err != nil {
		return nil, err
	}
	r := &toxiRouter{main: m, owner: map[string]*url.URL{}, all: []*url.URL{m}}
	seen := map[string]bool{main: true}
	for name, u := range byProxy {
		pu, err := url.Parse(u)
		if err != nil {
			return nil, err
		}
		r.owner[name] = pu
		if !seen[u] {
			seen[u] = true
			r.all = append(r.all, pu)
		}
	}
	return r, nil
}

var routerClient = &http.Client{Transport: &http.Transport{Proxy: nil}}

func (r *toxiRouter) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	p := strings.TrimPrefix(req.URL.Path, "/")
	switch {
	case p == "proxies" && req.Method == http.MethodGet:
		r.merged(w, req)
		return
	case p == "reset" && req.Method == http.MethodPost:
		for _, u := range r.all {
			resp, err := routerClient.Post(u.String()+"/reset", "application/json", nil)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadGateway)
				return
			}
			resp.Body.Close()
		}
		w.WriteHeader(http.StatusNoContent)
		return
	case strings.HasPrefix(p, "proxies/"):
		name, _, _ := strings.Cut(strings.TrimPrefix(p, "proxies/"), "/")
		if u, ok := r.owner[name]; ok {
			httputil.NewSingleHostReverseProxy(u).ServeHTTP(w, req)
			return
		}
	}
	httputil.NewSingleHostReverseProxy(r.main).ServeHTTP(w, req)
}

func (r *toxiRouter) merged(w http.ResponseWriter, req *http.Request) {
	out := map[string]json.RawMessage{}
	for _, u := range r.all {
		resp, err := routerClient.Get(u.String() + "/proxies")
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			http.Error(w, "toxiproxy "+u.Host+": "+string(b), http.StatusBadGateway)
			return
		}
		var part map[string]json.RawMessage
		if err := json.Unmarshal(b, &part); err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		for k, v := range part {
			// A load balancer's server answers only for its own proxy.
			if owner, ok := r.owner[k]; ok && owner.Host != u.Host {
				continue
			}
			out[k] = v
		}
	}
	var buf bytes.Buffer
	_ = json.NewEncoder(&buf).Encode(out)
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(buf.Bytes())
}
