package sqs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cascade-lab/cascade/mocks/kit"
)

// Config configures an SQS server.
type Config struct {
	// Addr serves the SQS JSON API (default "127.0.0.1:0").
	Addr string `flag:"addr" usage:"SQS JSON API listen address"`
	// AccountID owns every queue (default 000000000000).
	AccountID string `flag:"account-id" usage:"account owning every queue (default 000000000000)"`
	// URLBase starts every queue URL; empty means the server's own URL, so
	// a client following a queue URL reaches this server.
	URLBase string `flag:"url-base" usage:"base of queue URLs (default the server's own URL)"`
	// MaxBodyBytes bounds a request body (default 2 MiB).
	MaxBodyBytes int64 `flag:"max-body-bytes" usage:"request body limit (default 2 MiB)"`
}

func (c *Config) validate() error {
	if c.Addr == "" {
		c.Addr = "127.0.0.1:0"
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = 2 << 20
	}
	if c.MaxBodyBytes < 0 {
		return fmt.Errorf("max body %d bytes: must be positive", c.MaxBodyBytes)
	}
	return nil
}

// Server is the SQS transport: the JSON 1.0 API around a Core, with
// ReceiveMessage's long poll waiting on the incident clock.
//
//	POST / X-Amz-Target: AmazonSQS.<Op> --> decode --> Core (one mutex) --> JSON
//	                                                      |
//	ReceiveMessage, nothing visible, WaitTimeSeconds > 0: wait for a send, the
//	next visibility expiry or the deadline (incident time), then ask again
type Server struct {
	cfg  Config
	env  *kit.Env
	http *kit.HTTPServer

	mu      sync.Mutex
	core    *Core
	changed chan struct{} // closed and replaced whenever a message is sent

	requests *prometheus.CounterVec
}

// New builds a server; nothing listens until Start.
func New(cfg Config, env *kit.Env) (*Server, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("sqs config: %w", err)
	}
	s := &Server{cfg: cfg, env: env, changed: make(chan struct{}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cascade_sqs_requests_total", Help: "SQS API requests by operation and outcome."}, []string{"op", "outcome"})}
	env.Metrics.MustRegister(s.requests)
	return s, nil
}

// Start binds the listener; queue URLs start with its URL unless
// Config.URLBase says otherwise.
func (s *Server) Start(ctx context.Context) error {
	h, err := kit.StartHTTP(s.cfg.Addr, s.Handler())
	if err != nil {
		return fmt.Errorf("start sqs: %w", err)
	}
	base := s.cfg.URLBase
	if base == "" {
		base = h.URL()
	}
	core, err := NewCore(CoreConfig{AccountID: s.cfg.AccountID, URLBase: base}, s.env.Clock, s.env.Rand)
	if err != nil {
		_ = h.Close()
		return err
	}
	s.mu.Lock()
	s.core = core
	s.mu.Unlock()
	s.http = h
	s.env.Events.Emit("sqs-started", "addr", h.Addr())
	return nil
}

// Close stops the listener; it may be called more than once.
func (s *Server) Close() error { return s.http.Close() }

// URL is http://host:port of the API (after Start).
func (s *Server) URL() string { return s.http.URL() }

// Stats returns every queue's depth.
func (s *Server) Stats() []QueueStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.core == nil {
		return nil
	}
	return s.core.Stats()
}

// AdminRoutes adds GET /admin/queues (every queue's depth).
func (s *Server) AdminRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /admin/queues", func(w http.ResponseWriter, r *http.Request) {
		kit.WriteJSON(w, http.StatusOK, s.Stats())
	})
}

// Wire shapes of the operations served (botocore's sqs 2012-11-05).
type (
	// CreateQueueInput is CreateQueue's request.
	CreateQueueInput struct {
		QueueName  string
		Attributes map[string]string
		Tags       map[string]string `json:"tags"`
	}
	// GetQueueURLInput is GetQueueUrl's request.
	GetQueueURLInput struct {
		QueueName              string
		QueueOwnerAWSAccountId string
	}
	// SendMessageInput is SendMessage's request.
	SendMessageInput struct {
		QueueUrl                string
		MessageBody             string
		DelaySeconds            *int
		MessageAttributes       map[string]json.RawMessage
		MessageSystemAttributes map[string]json.RawMessage
		MessageDeduplicationId  string
		MessageGroupId          string
	}
	// ReceiveMessageInput is ReceiveMessage's request.
	ReceiveMessageInput struct {
		QueueUrl                    string
		AttributeNames              []string
		MessageSystemAttributeNames []string
		MessageAttributeNames       []string
		MaxNumberOfMessages         *int
		VisibilityTimeout           *int
		WaitTimeSeconds             *int
		ReceiveRequestAttemptId     string
	}
	// DeleteMessageInput is DeleteMessage's request.
	DeleteMessageInput struct {
		QueueUrl      string
		ReceiptHandle string
	}
	// GetQueueAttributesInput is GetQueueAttributes' request.
	GetQueueAttributesInput struct {
		QueueUrl       string
		AttributeNames []string
	}
)

var errSerialization = errors.New("serialization error")
var errUnknownOperation = errors.New("unknown operation")

// DecodeRequest decodes the body of operation op (the X-Amz-Target suffix)
// into its input shape; errors are SerializationException or
// UnknownOperationException, as SQS answers.
func DecodeRequest(op string, body []byte) (any, error) {
	var in any
	switch op {
	case "CreateQueue":
		in = &CreateQueueInput{}
	case "GetQueueUrl":
		in = &GetQueueURLInput{}
	case "SendMessage":
		in = &SendMessageInput{}
	case "ReceiveMessage":
		in = &ReceiveMessageInput{}
	case "DeleteMessage":
		in = &DeleteMessageInput{}
	case "GetQueueAttributes":
		in = &GetQueueAttributesInput{}
	default:
		return nil, fmt.Errorf("%w: %q", errUnknownOperation, op)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(in); err != nil {
		return nil, fmt.Errorf("%w: %v", errSerialization, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: trailing data after the JSON object", errSerialization)
	}
	return in, nil
}

// Handler serves the SQS JSON protocol on POST /.
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(s.serve)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	target := r.Header.Get("X-Amz-Target")
	op, ok := strings.CutPrefix(target, "AmazonSQS.")
	if r.Method != http.MethodPost || !ok {
		s.writeError(w, "", fmt.Errorf("%w: %s %s target %q: this endpoint serves the SQS JSON protocol (POST / with X-Amz-Target: AmazonSQS.<Op>)", errUnknownOperation, r.Method, r.URL.Path, target))
		return
	}
	if r.Header.Get("Authorization") == "" {
		s.writeError(w, op, errMissingAuth)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, s.cfg.MaxBodyBytes+1))
	if err != nil || int64(len(body)) > s.cfg.MaxBodyBytes {
		s.writeError(w, op, fmt.Errorf("%w: body unreadable or larger than %d bytes", errSerialization, s.cfg.MaxBodyBytes))
		return
	}
	in, err := DecodeRequest(op, body)
	if err != nil {
		s.writeError(w, op, err)
		return
	}
	out, err := s.do(r.Context(), in)
	if err != nil {
		s.writeError(w, op, err)
		return
	}
	s.requests.WithLabelValues(op, "ok").Inc()
	w.Header().Set("x-amzn-RequestId", s.requestID())
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.WriteHeader(http.StatusOK)
	_ = json.NewEncoder(w).Encode(out)
}

var errMissingAuth = errors.New("missing authentication token")

func (s *Server) requestID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.core.newID()
}

// wireMessage is one message of a ReceiveMessage result.
type wireMessage struct {
	MessageId     string
	ReceiptHandle string
	MD5OfBody     string
	Body          string
	Attributes    map[string]string `json:",omitempty"`
}

func (s *Server) do(ctx context.Context, in any) (any, error) {
	switch in := in.(type) {
	case *CreateQueueInput:
		s.mu.Lock()
		url, err := s.core.CreateQueue(in.QueueName, in.Attributes)
		s.mu.Unlock()
		if err == nil {
			s.env.Events.Emit("queue-created", "queue", in.QueueName)
		}
		return map[string]string{"QueueUrl": url}, err
	case *GetQueueURLInput:
		s.mu.Lock()
		defer s.mu.Unlock()
		url, err := s.core.QueueURL(in.QueueName)
		return map[string]string{"QueueUrl": url}, err
	case *SendMessageInput:
		if len(in.MessageAttributes) > 0 || len(in.MessageSystemAttributes) > 0 {
			// Their MD5 (MD5OfMessageAttributes) is not computed here, and
			// the SDKs verify it: refuse rather than answer wrongly.
			return nil, fmt.Errorf("%w: MessageAttributes and MessageSystemAttributes are not modelled", ErrUnsupportedOperation)
		}
		if in.MessageGroupId != "" || in.MessageDeduplicationId != "" {
			return nil, fmt.Errorf("%w: The request include parameter that is not valid for this queue type", ErrInvalidParameterValue)
		}
		s.mu.Lock()
		res, err := s.core.SendMessage(in.QueueUrl, in.MessageBody, in.DelaySeconds)
		if err == nil {
			close(s.changed)
			s.changed = make(chan struct{})
		}
		s.mu.Unlock()
		return map[string]string{"MessageId": res.MessageID, "MD5OfMessageBody": res.MD5OfBody}, err
	case *ReceiveMessageInput:
		msgs, err := s.receive(ctx, in)
		if err != nil {
			return nil, err
		}
		out := make([]wireMessage, len(msgs))
		for i, m := range msgs {
			out[i] = wireMessage{MessageId: m.MessageID, ReceiptHandle: m.ReceiptHandle, MD5OfBody: m.MD5OfBody, Body: m.Body, Attributes: m.Attributes}
		}
		if len(out) == 0 {
			return struct{}{}, nil // SQS leaves Messages out when there are none
		}
		return map[string]any{"Messages": out}, nil
	case *DeleteMessageInput:
		s.mu.Lock()
		defer s.mu.Unlock()
		return struct{}{}, s.core.DeleteMessage(in.QueueUrl, in.ReceiptHandle)
	case *GetQueueAttributesInput:
		s.mu.Lock()
		defer s.mu.Unlock()
		names := in.AttributeNames
		if len(names) == 0 {
			return struct{}{}, nil // no names asked, none returned (SQS's behaviour)
		}
		attrs, err := s.core.Attributes(in.QueueUrl, names)
		return map[string]any{"Attributes": attrs}, err
	}
	return nil, fmt.Errorf("%w: %T", errUnknownOperation, in)
}

// receive is ReceiveMessage with its long poll: while nothing is visible it
// waits, in incident time, until a message is sent, an in-flight or delayed
// message becomes visible, or WaitTimeSeconds have passed.
func (s *Server) receive(ctx context.Context, in *ReceiveMessageInput) ([]Message, error) {
	req := ReceiveRequest{QueueURL: in.QueueUrl, Max: 1, Visibility: in.VisibilityTimeout,
		AttributeNames: append(append([]string(nil), in.AttributeNames...), in.MessageSystemAttributeNames...)}
	if in.MaxNumberOfMessages != nil {
		req.Max = *in.MaxNumberOfMessages
	}
	s.mu.Lock()
	wait, err := s.core.WaitTime(in.QueueUrl)
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if in.WaitTimeSeconds != nil {
		if *in.WaitTimeSeconds < 0 || *in.WaitTimeSeconds > 20 {
			return nil, fmt.Errorf("%w: Value %d for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= 20, if provided.", ErrInvalidParameterValue, *in.WaitTimeSeconds)
		}
		wait = time.Duration(*in.WaitTimeSeconds) * time.Second
	}
	deadline := s.env.Clock.Now().Add(wait)
	for {
		s.mu.Lock()
		msgs, err := s.core.Receive(req)
		next, changed := s.core.Next(in.QueueUrl), s.changed
		now := s.env.Clock.Now()
		s.mu.Unlock()
		if err != nil || len(msgs) > 0 || !now.Before(deadline) {
			return msgs, err
		}
		until := deadline
		if !next.IsZero() && next.Before(until) {
			until = next
		}
		t := s.env.Clock.NewTimer(until.Sub(now))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-changed:
		case <-t.Chan():
		}
		t.Stop()
	}
}

// sqsError is how one core error goes on the wire: the __type's shape name,
// the legacy Query error code of x-amzn-query-error, the HTTP status.
type sqsError struct {
	shape, query string
	status       int
}

// errorTable is the one place errors become SQS's wire errors.
var errorTable = []struct {
	err error
	e   sqsError
}{
	{ErrQueueDoesNotExist, sqsError{"com.amazonaws.sqs#QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue", 400}},
	{ErrQueueNameExists, sqsError{"com.amazonaws.sqs#QueueNameExists", "QueueAlreadyExists", 400}},
	{ErrReceiptHandleIsInvalid, sqsError{"com.amazonaws.sqs#ReceiptHandleIsInvalid", "ReceiptHandleIsInvalid", 400}},
	{ErrInvalidAttributeName, sqsError{"com.amazonaws.sqs#InvalidAttributeName", "InvalidAttributeName", 400}},
	{ErrInvalidAttributeValue, sqsError{"com.amazonaws.sqs#InvalidAttributeValue", "InvalidAttributeValue", 400}},
	{ErrInvalidParameterValue, sqsError{"com.amazonaws.sqs#InvalidParameterValue", "InvalidParameterValue", 400}},
	{ErrMissingParameter, sqsError{"com.amazonaws.sqs#MissingParameter", "MissingParameter", 400}},
	{ErrInvalidMessageContents, sqsError{"com.amazonaws.sqs#InvalidMessageContents", "InvalidMessageContents", 400}},
	{ErrUnsupportedOperation, sqsError{"com.amazonaws.sqs#UnsupportedOperation", "AWS.SimpleQueueService.UnsupportedOperation", 400}},
	{errSerialization, sqsError{"com.amazon.coral.service#SerializationException", "", 400}},
	{errUnknownOperation, sqsError{"com.amazon.coral.service#UnknownOperationException", "", 400}},
	{errMissingAuth, sqsError{"com.amazon.coral.service#MissingAuthenticationTokenException", "MissingAuthenticationToken", 403}},
}

// writeError writes err in SQS's JSON error shape: {"__type","message"}
// plus the x-amzn-query-error header (code;Sender) that Query-compatible
// clients read the legacy error code from.
func (s *Server) writeError(w http.ResponseWriter, op string, err error) {
	e := sqsError{"com.amazonaws.sqs#InternalError", "InternalError", 500}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		e = sqsError{"com.amazonaws.sqs#RequestCanceled", "", 400}
	}
	for _, t := range errorTable {
		if errors.Is(err, t.err) {
			e = t.e
			break
		}
	}
	if op != "" {
		s.requests.WithLabelValues(op, e.shape[strings.IndexByte(e.shape, '#')+1:]).Inc()
	}
	if e.query != "" {
		fault := "Sender"
		if e.status >= 500 {
			fault = "Receiver"
		}
		w.Header().Set("x-amzn-query-error", e.query+";"+fault)
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.WriteHeader(e.status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": e.shape, "message": err.Error()})
}
