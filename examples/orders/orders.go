// Package orders is a small orders API on DynamoDB, the example service a
// team rehearses the us-east-1 outage with (see orders_test.go and
// docs/cascadetest.md). GET /orders/{id} reads through a cache; every
// DynamoDB call goes through a circuit breaker (sony/gobreaker). With the
// fallback on, a read DynamoDB cannot answer is served from the cache's
// stale entry (X-Cache: stale) and a write is queued and retried in the
// background (202); without it, both fail with 503 as soon as DynamoDB
// does. Nothing in it knows about cascade: it is wired with an aws.Config,
// as in production.
package orders

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/sony/gobreaker/v2"
)

// Order is one order.
type Order struct {
	ID     string `json:"id"`
	Item   string `json:"item"`
	Amount int    `json:"amount"`
}

// Config configures the service.
type Config struct {
	// Table is the DynamoDB table (hash key "id", a string).
	Table string
	// CacheTTL is how long a cached order is served without asking
	// DynamoDB (wall time).
	CacheTTL time.Duration
	// Fallback serves stale cache entries and queues writes when DynamoDB
	// fails (graceful degradation); without it the service fails with it.
	Fallback bool
	// BreakerOpen is how long the breaker stays open after it trips.
	BreakerOpen time.Duration
	// CallTimeout bounds one DynamoDB call.
	CallTimeout time.Duration
}

// Service is the orders API.
type Service struct {
	cfg     Config
	ddb     *dynamodb.Client
	breaker *gobreaker.CircuitBreaker[*dynamodb.GetItemOutput]
	mux     *http.ServeMux

	mu      sync.Mutex
	cache   map[string]entry
	pending []Order // writes queued while DynamoDB fails

	requests *prometheus.CounterVec
}

type entry struct {
	order Order
	at    time.Time
}

// New returns the service on a DynamoDB client (dynamodb.NewFromConfig of
// the team's aws.Config).
func New(ddb *dynamodb.Client, cfg Config) *Service {
	if cfg.Table == "" {
		cfg.Table = "orders"
	}
	if cfg.CacheTTL <= 0 {
		cfg.CacheTTL = time.Second
	}
	if cfg.BreakerOpen <= 0 {
		cfg.BreakerOpen = time.Second
	}
	if cfg.CallTimeout <= 0 {
		cfg.CallTimeout = time.Second
	}
	s := &Service{cfg: cfg, ddb: ddb, cache: map[string]entry{}, mux: http.NewServeMux()}
	s.breaker = gobreaker.NewCircuitBreaker[*dynamodb.GetItemOutput](gobreaker.Settings{
		Name: "dynamodb", Timeout: cfg.BreakerOpen,
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= 3 },
		// a missing order is an answer, not a failure of DynamoDB
		IsSuccessful: func(err error) bool { return err == nil || errors.Is(err, errNotFound) },
	})
	reg := prometheus.NewRegistry()
	s.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "orders_requests_total",
		Help: "Requests by route and outcome (ok, stale, queued, error)."}, []string{"route", "outcome"})
	reg.MustRegister(s.requests)
	s.mux.HandleFunc("GET /orders/{id}", s.get)
	s.mux.HandleFunc("POST /orders", s.post)
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	return s
}

// ServeHTTP serves the API.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

var errNotFound = errors.New("order not found")

func (s *Service) get(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s.mu.Lock()
	e, cached := s.cache[id]
	s.mu.Unlock()
	if cached && time.Since(e.at) < s.cfg.CacheTTL {
		s.reply(w, "get", "ok", http.StatusOK, e.order, "hit")
		return
	}
	o, err := s.load(r.Context(), id)
	switch {
	case err == nil:
		s.mu.Lock()
		s.cache[id] = entry{order: o, at: time.Now()}
		s.mu.Unlock()
		s.reply(w, "get", "ok", http.StatusOK, o, "miss")
	case errors.Is(err, errNotFound):
		s.reply(w, "get", "ok", http.StatusNotFound, map[string]string{"error": "no order " + id}, "miss")
	case s.cfg.Fallback && cached:
		s.reply(w, "get", "stale", http.StatusOK, e.order, "stale")
	default:
		s.reply(w, "get", "error", http.StatusServiceUnavailable, map[string]string{"error": err.Error()}, "miss")
	}
}

// load reads an order through the breaker.
func (s *Service) load(ctx context.Context, id string) (Order, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.CallTimeout)
	defer cancel()
	out, err := s.breaker.Execute(func() (*dynamodb.GetItemOutput, error) {
		out, err := s.ddb.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.cfg.Table),
			Key: map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: id}}})
		if err == nil && len(out.Item) == 0 {
			return nil, errNotFound
		}
		return out, err
	})
	if err != nil {
		return Order{}, err
	}
	o := Order{ID: id}
	if v, ok := out.Item["item"].(*types.AttributeValueMemberS); ok {
		o.Item = v.Value
	}
	if v, ok := out.Item["amount"].(*types.AttributeValueMemberN); ok {
		_ = json.Unmarshal([]byte(v.Value), &o.Amount)
	}
	return o, nil
}

func (s *Service) post(w http.ResponseWriter, r *http.Request) {
	var o Order
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&o); err != nil || o.ID == "" {
		s.reply(w, "post", "error", http.StatusBadRequest, map[string]string{"error": "body must be an order with an id"}, "")
		return
	}
	if err := s.Put(r.Context(), o); err != nil {
		if s.cfg.Fallback {
			s.mu.Lock()
			s.pending = append(s.pending, o)
			s.cache[o.ID] = entry{order: o, at: time.Now()}
			s.mu.Unlock()
			s.reply(w, "post", "queued", http.StatusAccepted, o, "")
			return
		}
		s.reply(w, "post", "error", http.StatusServiceUnavailable, map[string]string{"error": err.Error()}, "")
		return
	}
	s.reply(w, "post", "ok", http.StatusCreated, o, "")
}

// Put writes an order to DynamoDB and caches it.
func (s *Service) Put(ctx context.Context, o Order) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.CallTimeout)
	defer cancel()
	_, err := s.ddb.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.cfg.Table), Item: map[string]types.AttributeValue{
		"id": &types.AttributeValueMemberS{Value: o.ID}, "item": &types.AttributeValueMemberS{Value: o.Item},
		"amount": &types.AttributeValueMemberN{Value: itoa(o.Amount)}}})
	if err == nil {
		s.mu.Lock()
		s.cache[o.ID] = entry{order: o, at: time.Now()}
		s.mu.Unlock()
	}
	return err
}

// Flush retries the queued writes once; it returns how many are left.
func (s *Service) Flush(ctx context.Context) int {
	s.mu.Lock()
	queued := s.pending
	s.pending = nil
	s.mu.Unlock()
	var left []Order
	for _, o := range queued {
		if err := s.Put(ctx, o); err != nil {
			left = append(left, o)
		}
	}
	s.mu.Lock()
	s.pending = append(left, s.pending...)
	n := len(s.pending)
	s.mu.Unlock()
	return n
}

func (s *Service) reply(w http.ResponseWriter, route, outcome string, status int, body any, cache string) {
	s.requests.WithLabelValues(route, outcome).Inc()
	if cache != "" {
		w.Header().Set("X-Cache", cache)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

// CreateTable creates the orders table (hash key "id").
func CreateTable(ctx context.Context, ddb *dynamodb.Client, table string) error {
	_, err := ddb.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String(table),
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: types.KeyTypeHash}},
		BillingMode:          types.BillingModePayPerRequest,
	})
	var inUse *types.ResourceInUseException
	if errors.As(err, &inUse) {
		return nil
	}
	return err
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }
