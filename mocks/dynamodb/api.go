package dynamodb

import (
	"bytes"
	"encoding/json"
	"errors"
	"hash/crc32"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cascade-lab/cascade/mocks/dynamodb/expr"
	"github.com/cascade-lab/cascade/mocks/kit"
)

// TargetPrefix is the X-Amz-Target prefix of every DynamoDB operation.
const TargetPrefix = "DynamoDB_20120810."

// HealthBody is what real DynamoDB answers to GET /.
const HealthBody = "healthy: dynamodb.us-east-1.amazonaws.com"

// Operations lists the operations the mock serves, in the order the
// failpoints are registered.
var Operations = []string{
	"CreateTable", "DescribeTable", "ListTables", "DeleteTable",
	"PutItem", "GetItem", "UpdateItem", "DeleteItem", "Query", "Scan",
	"BatchGetItem", "BatchWriteItem", "TransactWriteItems", "TransactGetItems",
	"UpdateTimeToLive", "DescribeTimeToLive", "UpdateTable",
}

// operation is one API operation: how to decode and run it, its failpoint
// and its metrics.
type operation struct {
	name    string
	run     func(s *Server, body []byte) (any, error)
	fp      *kit.Failpoint
	ok      prometheus.Counter
	latency prometheus.Observer
}

// handle builds an operation runner: decode the body into I, call fn with
// the core locked. The lock is one mutex: the core is not safe for
// concurrent use, and its operations are short.
func handle[I any, O any](fn func(c *Core, in *I) (O, error)) func(s *Server, body []byte) (any, error) {
	return func(s *Server, body []byte) (any, error) {
		in := new(I)
		if err := decodeRequest(body, in); err != nil {
			return nil, err
		}
		s.mu.Lock()
		out, err := fn(s.core, in)
		s.mu.Unlock()
		if err != nil {
			return nil, err
		}
		return out, nil
	}
}

// runGetItem is handle((*Core).ItemGet) with decodeGetItemFast in front of
// the general decoder: GetItem is the hot read of the services under test.
func runGetItem(s *Server, body []byte) (any, error) {
	in, ok := decodeGetItemFast(body)
	if !ok {
		in = new(GetItemInput)
		if err := decodeRequest(body, in); err != nil {
			return nil, err
		}
	}
	s.mu.Lock()
	out, err := s.core.ItemGet(in)
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return out, nil
}

var runners = map[string]func(s *Server, body []byte) (any, error){
	"CreateTable":        handle((*Core).TableCreate),
	"DescribeTable":      handle((*Core).TableDescribe),
	"ListTables":         handle((*Core).TableList),
	"DeleteTable":        handle((*Core).TableDelete),
	"PutItem":            handle((*Core).ItemPut),
	"GetItem":            runGetItem,
	"UpdateItem":         handle((*Core).ItemUpdate),
	"DeleteItem":         handle((*Core).ItemDelete),
	"Query":              handle((*Core).ItemQuery),
	"Scan":               handle((*Core).ItemScan),
	"BatchGetItem":       handle((*Core).ItemBatchGet),
	"BatchWriteItem":     handle((*Core).ItemBatchWrite),
	"TransactWriteItems": handle((*Core).ItemTransactWrite),
	"TransactGetItems":   handle((*Core).ItemTransactGet),
	"UpdateTimeToLive":   handle((*Core).TimeToLiveUpdate),
	"DescribeTimeToLive": handle((*Core).TimeToLiveDescribe),
	"UpdateTable":        handle((*Core).TableUpdate),
}

// DecodeRequest decodes a request body into in the way the transport does:
// JSON syntax and shape errors are SerializationException, bad attribute
// values ValidationException, both as *Error.
func DecodeRequest(body []byte, in any) error { return decodeRequest(body, in) }

func decodeRequest(body []byte, in any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	}
	err := json.Unmarshal(body, in)
	if err == nil {
		return nil
	}
	var ve *expr.ValidationError
	if errors.As(err, &ve) {
		if strings.HasPrefix(ve.Message, "Unexpected JSON") {
			return newError(CodeSerialization, ve.Message)
		}
		return validationErr(ve.Message)
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return newError(CodeSerialization, "Could not parse request body into json: "+se.Error())
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return newError(CodeSerialization, "Unexpected value type in payload: "+te.Field)
	}
	return newError(CodeSerialization, "Could not parse request body into json: "+err.Error())
}

// wireError is how an ErrorCode goes on the wire: its namespace, HTTP
// status and the name of the message member (the SDK's schema for
// TransactionCanceledException reads "Message", the others "message").
type wireError struct {
	namespace string
	status    int
	msgField  string
}

const (
	nsDynamoDB  = "com.amazonaws.dynamodb.v20120810"
	nsCoral     = "com.amazon.coral.service"
	nsValidate  = "com.amazon.coral.validate"
	nsAvailable = "com.amazon.coral.availability"
)

// wireErrors is the one place where errors become HTTP.
var wireErrors = map[ErrorCode]wireError{
	CodeValidation:                    {nsValidate, 400, "message"},
	CodeConditionalCheckFailed:        {nsDynamoDB, 400, "message"},
	CodeResourceNotFound:              {nsDynamoDB, 400, "message"},
	CodeResourceInUse:                 {nsDynamoDB, 400, "message"},
	CodeTransactionCanceled:           {nsDynamoDB, 400, "Message"},
	CodeTransactionConflict:           {nsDynamoDB, 400, "message"},
	CodeIdempotentParameterMismatch:   {nsDynamoDB, 400, "Message"},
	CodeProvisionedThroughputExceeded: {nsDynamoDB, 400, "message"},
	CodeRequestLimitExceeded:          {nsDynamoDB, 400, "message"},
	CodeThrottling:                    {nsAvailable, 400, "message"},
	CodeInternalServerError:           {nsDynamoDB, 500, "message"},
	CodeServiceUnavailable:            {nsAvailable, 503, "message"},
	CodeSerialization:                 {nsCoral, 400, "Message"},
	CodeUnknownOperation:              {nsCoral, 400, "message"},
	CodeMissingAuthenticationToken:    {nsCoral, 400, "message"},
	CodeRequestEntityTooLarge:         {nsCoral, 413, "message"},
	CodeLimitExceeded:                 {nsDynamoDB, 400, "message"},
}

// encodeError renders err as DynamoDB's error body and status.
func encodeError(err error) (int, []byte, ErrorCode) {
	e := asError(err)
	w, ok := wireErrors[e.Code]
	if !ok {
		w = wireErrors[CodeInternalServerError]
	}
	var buf bytes.Buffer
	buf.WriteString(`{"__type":`)
	writeString(&buf, w.namespace+"#"+string(e.Code))
	if e.Message != "" {
		buf.WriteString(`,"` + w.msgField + `":`)
		writeString(&buf, e.Message)
	}
	if e.Item != nil {
		if raw, err := e.Item.MarshalJSON(); err == nil {
			buf.WriteString(`,"Item":`)
			buf.Write(raw)
		}
	}
	if e.CancellationReasons != nil {
		if raw, err := json.Marshal(e.CancellationReasons); err == nil {
			buf.WriteString(`,"CancellationReasons":`)
			buf.Write(raw)
		}
	}
	buf.WriteByte('}')
	return w.status, buf.Bytes(), e.Code
}

func writeString(buf *bytes.Buffer, s string) {
	b, _ := json.Marshal(s)
	buf.Write(b)
}

// appendOutput appends a response body to dst. A GetItem of a whole item
// copies the stored encoding instead of encoding the item again.
func appendOutput(dst []byte, out any) ([]byte, error) {
	if g, ok := out.(*GetItemOutput); ok && g.ConsumedCapacity == nil {
		if g.Item == nil {
			return append(dst, "{}"...), nil
		}
		if g.raw != nil {
			dst = append(dst, `{"Item":`...)
			dst = append(dst, g.raw...)
			return append(dst, '}'), nil
		}
	}
	var b []byte
	var err error
	if q, ok := out.(*QueryOutput); ok && q.countOnly {
		b, err = json.Marshal(countOutput{Count: q.Count, ScannedCount: q.ScannedCount, LastEvaluatedKey: q.LastEvaluatedKey, ConsumedCapacity: q.ConsumedCapacity})
	} else if o, ok := out.(*ItemOutput); ok && o.Attributes == nil && o.ConsumedCapacity == nil && o.ItemCollectionMetrics == nil {
		b = []byte("{}")
	} else {
		b, err = json.Marshal(out)
	}
	if err != nil {
		return dst, err
	}
	return append(dst, b...), nil
}

// failpointError turns a fired failpoint's value into the error the client
// sees: return(ThrottlingException), return(ProvisionedThroughputExceededException),
// return(InternalServerError) or return(500), return(ServiceUnavailable) or
// return(503), or any other ErrorCode; any other value (error(msg)) is a
// 500 InternalServerError with that message.
func failpointError(value string) *Error {
	switch value {
	case "", "500", string(CodeInternalServerError):
		return newError(CodeInternalServerError, MsgInternalServerError)
	case "503", string(CodeServiceUnavailable):
		return newError(CodeServiceUnavailable, "Service Unavailable")
	case string(CodeThrottling):
		return newError(CodeThrottling, MsgThrottling)
	case string(CodeProvisionedThroughputExceeded):
		return newError(CodeProvisionedThroughputExceeded, MsgProvisionedThroughput)
	case string(CodeRequestLimitExceeded):
		return newError(CodeRequestLimitExceeded, "Throughput exceeds the current throughput limit for your account. Please contact AWS Support at https://aws.amazon.com/support request a limit increase")
	}
	if _, ok := wireErrors[ErrorCode(value)]; ok {
		return newError(ErrorCode(value), value)
	}
	return newError(CodeInternalServerError, value)
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// respPool holds response body buffers.
var respPool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// ServeHTTP is the JSON 1.0 endpoint:
//
//	GET /                          200 healthy: dynamodb.us-east-1.amazonaws.com
//	POST / X-Amz-Target: DynamoDB_20120810.<Operation>
//	  no Authorization             400 MissingAuthenticationTokenException
//	  unknown target               400 UnknownOperationException
//	  body over MaxBodyBytes       413 RequestEntityTooLarge
//	  failpoint fired              the failpoint's error
//	  bad JSON                     400 SerializationException
//	  otherwise                    the operation's response or error
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	s.checkConnAge(w, r)
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		if r.URL.Path == "/" {
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(http.StatusOK)
			if r.Method == http.MethodGet {
				_, _ = io.WriteString(w, HealthBody)
			}
			return
		}
		http.NotFound(w, r)
		return
	}
	var op *operation
	var err error
	switch target := r.Header.Get("X-Amz-Target"); {
	case r.Header.Get("Authorization") == "":
		err = newError(CodeMissingAuthenticationToken, MsgMissingAuth)
	case !strings.HasPrefix(target, TargetPrefix):
		err = newError(CodeUnknownOperation, "")
	default:
		op = s.ops[target[len(TargetPrefix):]]
		if op == nil {
			err = newError(CodeUnknownOperation, "")
		}
	}
	var body []byte
	buf := bufPool.Get().(*bytes.Buffer)
	defer bufPool.Put(buf)
	if err == nil {
		buf.Reset()
		// A body with a Content-Length within the limit is read as it is
		// (net/http stops at that length); only a longer or chunked one
		// needs the limiting reader, which costs an allocation.
		src := r.Body
		if r.ContentLength < 0 || r.ContentLength > s.cfg.MaxBodyBytes {
			src = http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
		}
		if _, rerr := buf.ReadFrom(src); rerr != nil {
			err = readError(rerr, r.ContentLength, s.cfg.MaxBodyBytes)
		}
		body = buf.Bytes()
	}
	if err == nil {
		err = s.evalFailpoints(r, op)
	}
	var out any
	if err == nil {
		out, err = op.run(s, body)
	}
	var status int
	var resp []byte
	code := ErrorCode("")
	if err == nil {
		if to, ok := out.(*TableOutput); ok && op.name == "CreateTable" {
			s.env.Events.Emit("table-created", "table", to.TableDescription.TableName)
		}
		rp := respPool.Get().(*[]byte)
		resp, err = appendOutput((*rp)[:0], out)
		defer func(b []byte) {
			// w.Write has copied the body out by now.
			if cap(b) <= maxPooledBuffer {
				*rp = b[:0]
			}
			respPool.Put(rp)
		}(resp)
	}
	if err != nil {
		status, resp, code = encodeError(err)
	} else {
		status = http.StatusOK
	}
	s.writeHeader(w.Header(), resp)
	w.WriteHeader(status)
	_, _ = w.Write(resp)
	s.observe(op, code, start)
}

// maxPooledBuffer is the largest response buffer kept for reuse: a rare
// large Scan answer should not pin its memory.
const maxPooledBuffer = 64 << 10

// contentType is the one Content-Type of the JSON 1.0 protocol; net/http
// only reads header values, so every response can share the slice.
var contentType = []string{"application/x-amz-json-1.0"}

// writeHeader sets the response headers DynamoDB sends with resp: the
// request id, the body's CRC32 and its length, rendered into one string and
// one slice of values (two allocations instead of seven, on every request).
func (s *Server) writeHeader(h http.Header, resp []byte) {
	var b [requestIDLen + 2*20]byte
	text := s.appendRequestID(b[:0])
	text = strconv.AppendUint(text, uint64(crc32.ChecksumIEEE(resp)), 10)
	crcEnd := len(text)
	text = strconv.AppendInt(text, int64(len(resp)), 10)
	all := string(text)
	v := make([]string, 3)
	v[0], v[1], v[2] = all[:requestIDLen], all[requestIDLen:crcEnd], all[crcEnd:]
	h["Content-Type"] = contentType
	h["X-Amzn-Requestid"] = v[0:1:1]
	h["X-Amz-Crc32"] = v[1:2:2]
	h["Content-Length"] = v[2:3:3]
}

// readError is the answer to a request body that could not be read: too
// large, or cut off. (Its own function: the target of errors.As escapes to
// the heap, which should cost nothing on a request read whole.)
func readError(rerr error, length, limit int64) error {
	var tooLarge *http.MaxBytesError
	if errors.As(rerr, &tooLarge) {
		return newError(CodeRequestEntityTooLarge, "Request size "+strconv.FormatInt(length, 10)+" exceeded "+strconv.FormatInt(limit, 10)+" bytes")
	}
	return newError(CodeSerialization, "Could not read request body: "+rerr.Error())
}

// evalFailpoints fires dynamodb/any, then dynamodb/<Operation>.
func (s *Server) evalFailpoints(r *http.Request, op *operation) error {
	for _, fp := range []*kit.Failpoint{s.anyFP, op.fp} {
		if fp == nil {
			continue
		}
		v, fired := fp.Eval(r.Context())
		if !fired {
			continue
		}
		e := failpointError(v)
		if e.Code == CodeThrottling || e.Code == CodeProvisionedThroughputExceeded || e.Code == CodeRequestLimitExceeded {
			s.noteThrottled(op.name, e.Code)
		}
		return e
	}
	return nil
}
